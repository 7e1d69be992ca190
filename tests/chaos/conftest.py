"""The reliability suite's own stack: Firestore persisted (so it can restart from its export),
Pub/Sub retrying for minutes, schedules run only on demand, the hashing embedder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.reliability.driver import chaos_stack
from emulators.stack.stack import LocalStack
from tests.fixtures.stack import using_official_emulators


@pytest.fixture(scope="package")
def chaos() -> Iterator[LocalStack]:
    if using_official_emulators():
        pytest.skip("fault injection needs this project's emulators (official ones in use)")
    with chaos_stack() as stack:
        yield stack
