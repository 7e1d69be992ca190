"""Atomic admission of metered API calls: sharded counters with blind increments.

Design (exactly k of any number of concurrent calls are admitted with k units left, and one
user sustains 50+ calls/s without hot-document contention):

* A user's day is split into `shard_count(burst)` counter documents (1 for a burst up to 60
  units a minute, as on the free plan; up to `SHARDS` = 8 for faster plans)
  (quota_counters/{uid}_{day}_g{generation}_s{shard}), each owning a fixed slice of the day's
  limit and of the per-minute burst (`shard_allowance`; slices sum to the limits exactly). One
  shard admits exactly, whatever the calls cost: the free plan's 60 units a minute are 12 task
  creations of 5 units.
* A call picks a random shard and commits ONE write to it: `set(merge)` with
  `Increment(units)` on `apiCalls` and on `minutes.<HHMM>`. Firestore returns the incremented
  values in the commit's transform results, so there is no read and no transaction: blind writes
  never abort on contention, and N shards spread one user's rate over N documents.
* If the values after the increment fit the shard's slices the call is admitted. Otherwise it
  is refused by that shard: the units are given back with a second write (Increment(-units)) and
  the call tries the next shard, until one admits it or every shard refused.
* Exactness: increments on one document are serialized, and a shard's counter is always
  admitted + not-yet-returned refusals >= admitted; admitting only when the counter fits the
  slice therefore never admits past the slice, and the slices sum to the limit, so never past
  the limit. With 1-unit calls a shard refuses only once its slice is fully admitted (the first
  refusal on a shard needs the counter past the slice with no refusal outstanding), and a call is
  refused only after every shard refused it — so with k units left exactly k calls are
  admitted, and once refusals have returned their units the counters sum to exactly the
  admitted units.
* Once a call finds every shard exhausted it records `quotas.apiCalls.blockedUntil` (end of
  the day, or of the minute for the burst) on users/{uid}; later calls see it in the user document
  the authentication step has already read and are refused with no Firestore operation at all.
  Shards found full are remembered in-process for the rest of the day (or minute) so that the
  refusal path does not write to them again.

Cost per call: admitted on the first shard tried — 1 write, 0 reads (the target); refused by a
shard — +2 writes per shard tried; refused after `blockedUntil` — 0 operations.

Limits: (1) with multi-unit calls, or when both the day and the burst limit bind at the same
moment, a concurrent refusal that has not yet given its units back can make a shard refuse a
call that would have fitted (transient under-admission, never over-admission). (2) A call
costing more units than one shard's slice (limit / 8) is refused even if the whole allowance
would cover it: limits must be >= shards x the costliest operation (true of every plan). (3) The
RateLimit `r` on a success is an estimate (the admitting shard's remaining slice times the
shard count): the exact figure would need reading every shard. (4) Up to ~8 x (one document's
sustained write rate) calls/s per user; raise SHARDS for more. (6) A call refused by validation
(400, 413) or answered by an idempotent replay is charged one unit: the rest goes back to its
shard (`refund`, one more write on that path only). (5) A new counter generation
(admin quota reset) starts fresh documents; the old generation's stay as history for the daily
rollup.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.cloud import firestore

from aide.adapters.repositories import QuotaCounterRepository, UserRepository
from aide.domain import quota
from aide.domain.quota import LimitKind, Limits, RateLimitState, Refusal
from aide.domain.timestamps import utc_now
from aide.domain.users import User

if TYPE_CHECKING:
    from google.cloud.firestore import Client

    from aide.adapters.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Admission:
    """The outcome of metering one call: admitted (with headers) or refused (429)."""

    state: RateLimitState | None
    refusal: Refusal | None = None
    charged: tuple[str, str, int] | None = None
    """(counter document, minute, units) the call was counted in, for a refund."""

    @property
    def admitted(self) -> bool:
        return self.refusal is None

    def headers(self) -> dict[str, str]:
        if self.refusal is not None:
            return self.refusal.headers()
        return self.state.headers() if self.state is not None else {}


class _FullShards:
    """Shards known exhausted, per process, so the refusal path does not write to them again.

    Keys carry the day/minute and generation, so they never refuse a later window; the set is
    bounded by dropping everything when it grows past `capacity`.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self._keys: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()
        self._capacity = capacity

    def __contains__(self, key: tuple[str, ...]) -> bool:
        with self._lock:
            return key in self._keys

    def add(self, key: tuple[str, ...]) -> None:
        with self._lock:
            if len(self._keys) >= self._capacity:
                self._keys.clear()
            self._keys.add(key)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


full_shards = _FullShards()


def _record_block(db: Client, uid: str, kind: LimitKind, now: datetime, limit: int) -> None:
    until = quota.day_reset(now) if kind is LimitKind.DAY else quota.minute_reset(now)
    fields: dict[str, Any] = {"quotas.apiCalls.blockedUntil": until}
    if kind is LimitKind.DAY:
        fields["quotas.apiCalls.used"] = limit
    UserRepository(db).update(uid, fields)


def admit_call(
    db: Client,
    user: User,
    units: int,
    *,
    now: Callable[[], datetime] = utc_now,
    rng: random.Random | None = None,
) -> Admission:
    """Meter one call of `units` for `user` (the document authentication read)."""
    moment = now()
    api = user.quotas.api_calls
    limits = Limits(api.limit, quota.burst_limit_of(api, user.subscription.plan))
    if units <= 0:
        return Admission(state=RateLimitState(limits, api.limit, limits.burst_limit, moment))
    blocked = quota.blocked_kind(api.blocked_until, moment)
    if blocked is not None:
        return Admission(state=None, refusal=quota.refusal(blocked, limits, moment))

    day, minute = quota.day_key(moment), quota.minute_key(moment)
    counters = QuotaCounterRepository(db)
    shards = quota.shard_count(limits.burst_limit)
    order = list(range(shards))
    (rng or random).shuffle(order)
    refused: set[LimitKind] = set()
    for shard in order:
        doc_id = quota.counter_id(user.uid, day, api.generation, shard)
        day_allowance = quota.shard_allowance(limits.day_limit, shards, shard)
        burst_allowance = quota.shard_allowance(limits.burst_limit, shards, shard)
        # Keyed with the slices: a raised limit (plan change) is not refused from memory.
        day_key, minute_key = (doc_id, str(day_allowance)), (doc_id, minute, str(burst_allowance))
        if day_key in full_shards or units > day_allowance:
            refused.add(LimitKind.DAY)
            continue
        if minute_key in full_shards or units > burst_allowance:
            refused.add(LimitKind.MINUTE)
            continue
        outcome = counters.increment(
            doc_id,
            {"userId": user.uid, "date": day, "generation": api.generation, "shard": shard},
            minute,
            units,
        )
        kind = quota.shard_refusal(
            outcome, day_allowance=day_allowance, burst_allowance=burst_allowance
        )
        if kind is None:
            state = RateLimitState(
                limits,
                day_remaining=(day_allowance - outcome.day_used) * shards,
                minute_remaining=(burst_allowance - outcome.minute_used) * shards,
                now=moment,
            )
            return Admission(state=state, charged=(doc_id, minute, units))
        counters.give_back(doc_id, minute, units)
        refused.add(kind)
        if units == 1:
            # Only a full slice refuses a 1-unit call (see the module docstring).
            full_shards.add(day_key if kind is LimitKind.DAY else minute_key)
    # The burst resets within the minute: report it whenever it took part in the refusal.
    kind = LimitKind.MINUTE if LimitKind.MINUTE in refused else LimitKind.DAY
    if units == 1:
        _record_block(db, user.uid, kind, moment, limits.day_limit)
    return Admission(state=None, refusal=quota.refusal(kind, limits, moment))


def refund(db: Client, admission: Admission, keep: int = 1) -> int:
    """Give back what an admitted call was charged beyond `keep` units (one blind write, none
    when nothing is to be given back); the units given back."""
    if admission.charged is None:
        return 0
    doc_id, minute, units = admission.charged
    back = units - max(keep, 0)
    if back <= 0:
        return 0
    QuotaCounterRepository(db).give_back(doc_id, minute, back)
    return back


def carry_over(
    uow: UnitOfWork, user: User, new_limit: int, now: datetime, new_burst: int | None = None
) -> dict[str, Any]:
    """User-document fields for a day limit that changes mid-day (plan change), and the
    counter writes that go with them, inside the caller's transaction.

    Shard slices follow the limit, so today's counts would no longer sit where the new slices
    expect them (a lowered limit could admit past itself). The units used so far move to a new
    counter generation, spread so that each shard's remaining slice sums to exactly
    new_limit - used; `carried` marks them so the daily rollup does not count them twice. Calls
    already in flight on the old generation during the switch are counted there (bounded by the
    calls in flight).
    """
    api = user.quotas.api_calls
    day = quota.day_key(now)
    # Carried units are usage too: a second change the same day carries them on again.
    counters = uow.quota_counters.documents(
        user.uid, day, range(api.generation, api.generation + 1)
    )
    used = sum(int(data.get("apiCalls", 0)) for data in counters)
    generation = api.generation + 1
    left = used
    burst = new_burst if new_burst is not None else quota.burst_limit_of(
        api, user.subscription.plan
    )
    shards = quota.shard_count(burst)
    for shard in range(shards):
        slice_ = quota.shard_allowance(new_limit, shards, shard)
        units = min(slice_, left) if shard < shards - 1 else left
        left -= units
        if units:
            uow.quota_counters.replace(
                quota.counter_id(user.uid, day, generation, shard),
                {
                    "userId": user.uid,
                    "date": day,
                    "generation": generation,
                    "shard": shard,
                    "apiCalls": units,
                    "carried": units,
                },
            )
    fields: dict[str, Any] = {"quotas.apiCalls.generation": generation}
    if used >= new_limit:
        fields["quotas.apiCalls.blockedUntil"] = quota.day_reset(now)
        fields["quotas.apiCalls.used"] = used
    else:
        fields["quotas.apiCalls.blockedUntil"] = firestore.DELETE_FIELD
    return fields


def day_usage(db: Client, uid: str, day: str, generation: int, shards: int = quota.SHARDS) -> int:
    """API-call units admitted on `day` in `generation` (reads every shard: not the hot path)."""
    counters = QuotaCounterRepository(db).documents(
        uid, day, range(generation, generation + 1), shards
    )
    return sum(int(data.get("apiCalls", 0)) for data in counters)
