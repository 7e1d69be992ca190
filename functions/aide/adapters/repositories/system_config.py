from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.system_config import PLANS_DOCUMENT_ID, PlansConfig, default_plans_config

if TYPE_CHECKING:
    from google.cloud.firestore import Transaction


class PlansRepository(Repository[PlansConfig]):
    """system_config/plans."""

    collection_name: ClassVar[str] = collections.SYSTEM_CONFIG
    model = PlansConfig

    def load(self, *, transaction: Transaction | None = None) -> PlansConfig:
        """The stored plans, or the documented defaults on a platform that was never seeded."""
        return self.get(PLANS_DOCUMENT_ID, transaction=transaction) or default_plans_config()
