"""The product's integration tests run with the emulator's index enforcement on.

A query that production Firestore would refuse for a missing composite or vector index must fail
here, in CI, rather than after deploy: so in this folder `fs_client` is the indexed client.
"""

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def fs_client(fs_indexed_client: Any) -> Iterator[Any]:
    yield fs_indexed_client
