"""Transactions: pessimistic document locks with wound-wait, plus commit-time validation.

Why this design: the Python client retries a transaction only when *Commit* fails with
ABORTED (an error on a read escapes to the caller), and only ``max_attempts`` (5) times. So
contention must normally be resolved by *waiting*, not by aborting:

* a document read in a read-write transaction takes an exclusive lock; another transaction
  reading it waits until the holder commits or rolls back (8 threads incrementing one counter
  simply take turns);
* deadlocks are broken by wound-wait, but only when one is possible: an older transaction
  wounds a younger holder only if that holder is itself waiting for a lock. A wounded
  transaction loses its locks, its pending reads return unlocked data, and its Commit fails
  with ABORTED, so the client retries it. Retries inherit the original transaction's age
  (encoded in the transaction id), so a retried transaction cannot starve;
* a transaction idle for longer than ``LOCK_TIMEOUT_SECONDS`` loses its locks the same way;
* non-transactional writes do not wait for locks; instead a commit re-checks every document
  and query it read and fails with ABORTED if anything changed (including query phantoms).
"""

from __future__ import annotations

import itertools
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from emulators.firestore import clock
from emulators.firestore.errors import EmulatorError
from emulators.firestore.store import Database

LOCK_TIMEOUT_SECONDS = 30.0
# Abandoned transactions (never committed nor rolled back) are forgotten after this long.
FORGET_AFTER_SECONDS = 600.0
_WAIT_SLICE_SECONDS = 0.05

_ages = itertools.count(1)
_ages_lock = threading.Lock()


@dataclass(eq=False)
class Transaction:
    id: bytes
    age: int
    read_only: bool
    read_micros: int | None = None
    locks: set[str] = field(default_factory=set)
    # Document name -> update time (micros, 0 = missing) as this transaction read it.
    reads: dict[str, int] = field(default_factory=dict)
    # (parent, query, result signature) of queries run in this transaction.
    queries: list[tuple[str, Any, tuple[tuple[str, int], ...]]] = field(default_factory=list)
    wounded: str | None = None
    # Where a wounded transaction keeps reading: the state when it lost its locks. Its commit
    # aborts anyway, but until then its reads stay one consistent snapshot, as in Firestore,
    # so application code never sees half of another transaction's commit.
    snapshot_micros: int | None = None
    waiting_for: str | None = None
    last_active: float = field(default_factory=time.monotonic)


def _new_id(age: int) -> bytes:
    return struct.pack(">Q", age) + os.urandom(8)


def _age_of(transaction_id: bytes) -> int | None:
    if len(transaction_id) != 16:
        return None
    return int(struct.unpack(">Q", transaction_id[:8])[0])


def begin(db: Database, options: Any, now_micros: int) -> Transaction:
    """Start a transaction from ``TransactionOptions`` (caller holds ``db.cond``)."""
    _expire_idle(db)
    mode = options.WhichOneof("mode") if options is not None else None
    if mode == "read_only":
        read_micros = now_micros
        if options.read_only.HasField("read_time"):
            ts = options.read_only.read_time
            read_micros = ts.seconds * 1_000_000 + ts.nanos // 1000
        with _ages_lock:
            age = next(_ages)
        txn = Transaction(_new_id(age), age, read_only=True, read_micros=read_micros)
    else:
        inherited = None
        if mode == "read_write" and options.read_write.retry_transaction:
            inherited = _age_of(options.read_write.retry_transaction)
        with _ages_lock:
            age = inherited if inherited is not None else next(_ages)
        txn = Transaction(_new_id(age), age, read_only=False)
    db.transactions[txn.id] = txn
    return txn


def lookup(db: Database, transaction_id: bytes) -> Transaction:
    txn = db.transactions.get(transaction_id)
    if txn is None:
        raise EmulatorError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "The referenced transaction has expired or is no longer valid.",
        )
    txn.last_active = time.monotonic()
    return txn


def acquire(db: Database, txn: Transaction, name: str) -> None:
    """Lock ``name`` for ``txn``, waiting behind other holders (caller holds ``db.cond``).

    Returns without the lock if ``txn`` is wounded meanwhile: its commit will abort anyway.
    """
    if txn.read_only:
        return
    while True:
        if txn.wounded:
            return
        holder = db.lock_holders.get(name)
        if holder is None or holder is txn:
            db.lock_holders[name] = txn
            txn.locks.add(name)
            return
        if holder.wounded or time.monotonic() - holder.last_active > LOCK_TIMEOUT_SECONDS:
            wound(db, holder, holder.wounded or "lock timeout: transaction idle too long")
            continue
        if holder.waiting_for is not None and txn.age < holder.age:
            wound(db, holder, "aborted by an older transaction to prevent a deadlock")
            continue
        txn.waiting_for = name
        # Waking everyone lets an older waiter notice it may now wound us (deadlock check).
        db.cond.notify_all()
        db.cond.wait(_WAIT_SLICE_SECONDS)
        txn.waiting_for = None
        txn.last_active = time.monotonic()


def wound(db: Database, txn: Transaction, reason: str) -> None:
    txn.wounded = reason
    if txn.snapshot_micros is None:
        # A fresh commit timestamp: every earlier commit is before it, every later one after.
        txn.snapshot_micros = clock.next_commit_micros()
    release(db, txn)


def release(db: Database, txn: Transaction) -> None:
    for name in txn.locks:
        if db.lock_holders.get(name) is txn:
            del db.lock_holders[name]
    txn.locks.clear()
    db.cond.notify_all()


def finish(db: Database, txn: Transaction) -> None:
    """Forget a committed, aborted or rolled back transaction and free its locks."""
    release(db, txn)
    db.transactions.pop(txn.id, None)


def validate_for_commit(
    db: Database,
    txn: Transaction,
    rerun_query: Callable[[str, Any], tuple[tuple[str, int], ...]],
) -> None:
    """Raise ABORTED if ``txn`` was wounded or anything it read has changed since."""
    if txn.read_only:
        return
    if txn.wounded:
        raise EmulatorError(grpc.StatusCode.ABORTED, f"Transaction aborted: {txn.wounded}")
    for name, seen in txn.reads.items():
        entry = db.entries.get(name)
        now = entry.update_micros if entry is not None else 0
        if now != seen:
            raise EmulatorError(
                grpc.StatusCode.ABORTED,
                f"Transaction aborted: {name} was modified after the transaction read it.",
            )
    for parent, query, signature in txn.queries:
        if rerun_query(parent, query) != signature:
            raise EmulatorError(
                grpc.StatusCode.ABORTED,
                "Transaction aborted: the result of a query read in the transaction changed.",
            )


def _expire_idle(db: Database) -> None:
    now = time.monotonic()
    for txn in list(db.transactions.values()):
        idle = now - txn.last_active
        if idle > FORGET_AFTER_SECONDS:
            finish(db, txn)
        elif idle > LOCK_TIMEOUT_SECONDS and txn.locks and txn.waiting_for is None:
            wound(db, txn, "lock timeout: transaction idle too long")
