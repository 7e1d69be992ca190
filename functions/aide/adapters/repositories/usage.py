from typing import ClassVar

from google.cloud.firestore import Query
from google.cloud.firestore_v1.base_query import FieldFilter

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.billing import BillingPeriod
from aide.domain.usage import DailyUsage


class DailyUsageRepository(Repository[DailyUsage]):
    collection_name: ClassVar[str] = collections.USAGE
    model = DailyUsage

    def history(self, user_id: str, *, days: int) -> list[DailyUsage]:
        """The user's most recent daily records, newest first."""
        query = (
            self.collection.where(filter=FieldFilter("userId", "==", user_id))
            .order_by("date", direction=Query.DESCENDING)
            .limit(days)
        )
        return [self.from_snapshot(snapshot) for snapshot in query.stream()]


class BillingRepository(Repository[BillingPeriod]):
    collection_name: ClassVar[str] = collections.BILLING
    model = BillingPeriod
