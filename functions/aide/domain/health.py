"""The health report's shape: version and reachability of each backing service."""

from pydantic import Field

from aide.domain.base import DocumentModel


class ServiceCheck(DocumentModel):
    ok: bool
    latency_ms: float = Field(ge=0)
    error: str | None = None


class HealthChecks(DocumentModel):
    firestore: ServiceCheck
    pubsub: ServiceCheck
    storage: ServiceCheck


class HealthReport(DocumentModel):
    version: str
    checks: HealthChecks

    @property
    def ok(self) -> bool:
        return all(check.ok for check in (self.checks.firestore, self.checks.pubsub,
                                          self.checks.storage))
