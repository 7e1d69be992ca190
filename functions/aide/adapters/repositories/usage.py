from typing import ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.billing import BillingPeriod
from aide.domain.usage import DailyUsage


class DailyUsageRepository(Repository[DailyUsage]):
    collection_name: ClassVar[str] = collections.USAGE
    model = DailyUsage


class BillingRepository(Repository[BillingPeriod]):
    collection_name: ClassVar[str] = collections.BILLING
    model = BillingPeriod
