"""The short reliability soak (the 10-minute one is `make chaos`): simulated users over HTTP
with real Auth-emulator tokens and a mixed workload while faults are injected — Pub/Sub push
failures and lost answers, lost and duplicated trigger deliveries, provider errors, the
functions host SIGKILLed and restarted, Firestore restarted from its export, sweeps on time,
late, skewed and concurrent — then quiescence and every invariant checked.

Deterministic enough not to flake: the workload and the faults are seeded, and what is asserted
are invariants of the final state, never timings. It shares its stack with the process-fault
tests, which leave behind a task edited by hand (completed, then set back to in_progress without
an event): only the soak's own users' data is judged."""

from __future__ import annotations

from benchmarks.reliability.__main__ import report
from benchmarks.reliability.driver import ChaosConfig, run
from benchmarks.reliability.faults import FaultRates
from emulators.stack.stack import LocalStack


def test_nothing_lost_or_doubled_under_faults(chaos: LocalStack) -> None:
    config = ChaosConfig(
        seed=7,
        duration_s=30.0,
        users=12,
        workers=3,
        group_sizes=(10, 20),
        think_s=0.1,
        rates=FaultRates(),
        kills=1,
        firestore_restarts=1,
        sweep_every_s=6.0,
        settle_timeout_s=150.0,
    )
    result = run(config, chaos)
    text = report(result, "tests/chaos/test_soak.py")
    print(text)
    assert result.ok, text
    # The run did what it claims: load was served and every kind of fault happened.
    assert len(result.log.created_tasks) >= 40, text
    for kind in ("functions host SIGKILL", "Firestore restart from export"):
        assert result.injected.get(kind) == 1, text
    for kind in ("Pub/Sub push answered 503", "Firestore trigger delivery dropped"):
        assert result.injected.get(kind, 0) > 0, text
    assert result.injected.get("tasks with provider faults", 0) > 0, text
