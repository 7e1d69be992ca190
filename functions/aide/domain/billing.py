"""billing/{userId}_{YYYY-MM}: a billing period's usage rolled up from daily records."""

from pydantic import Field

from aide.domain.base import DocumentModel
from aide.domain.timestamps import UtcDateTime, utc_now


def billing_period_id(user_id: str, period: str) -> str:
    return f"{user_id}_{period}"


class BillingPeriod(DocumentModel):
    id: str
    user_id: str
    period: str = Field(pattern=r"^\d{4}-\d{2}$")
    plan: str
    api_calls: int = Field(default=0, ge=0)
    task_minutes: float = Field(default=0, ge=0)
    storage_bytes_peak: int = Field(default=0, ge=0)
    tokens_used: int = Field(default=0, ge=0)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    closed_at: UtcDateTime | None = None
