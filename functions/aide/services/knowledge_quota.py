"""Knowledge writes charged to the owner's storage quota (users/{uid}.quotas.storageBytes).

A write reserves its upper bound before its transaction (refused with QuotaExhausted when the
quota has no room), then settles to the exact bytes it added once committed, or releases the
reservation when it failed: the quota never lags what is stored, and a refused write stores
nothing. Each step is charged exactly once (aide.services.quota_charges keys it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aide.domain.quota import QuotaExhausted
from aide.services.quota_charges import charge_storage
from aide.structured_logging import get_logger

if TYPE_CHECKING:
    from google.cloud.firestore import Client

log = get_logger(__name__)


@dataclass
class QuotaStorageBudget:
    """aide.services.knowledge.StorageBudget over the user's storage quota."""

    db: Client
    uid: str
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def reserve(self, max_bytes: int) -> None:
        charge_storage(self.db, self.uid, max_bytes, f"knowledge:{self.key}:reserve")

    def release(self, reserved: int) -> None:
        charge_storage(self.db, self.uid, -reserved, f"knowledge:{self.key}:release")

    def settle(self, reserved: int, actual: int) -> None:
        change = actual - reserved
        if change == 0:
            return
        try:
            charge_storage(self.db, self.uid, change, f"knowledge:{self.key}:settle")
        except QuotaExhausted:
            # Only when a write added more than its reserved bound (superseding very many
            # relations) with the quota full: the write is committed and stays, the excess
            # goes uncharged; logged so that it shows.
            log.warning(
                "knowledge write exceeded its storage reservation",
                extra={"fields": {"uid": self.uid, "reserved": reserved, "actual": actual}},
            )
