"""The unit of work: one Firestore transaction, and the repositories bound to it.

    def apply(uow: UnitOfWork) -> Project:
        project = uow.projects.get(project_id)            # read through the transaction
        uow.projects.update(project_id, {"name": name})   # committed with it
        return project

    project = run_in_transaction(db, apply)

`run_in_transaction` is the one place where a transaction begins, commits, rolls back and is
retried: it commits when `work` returns and rolls back when `work` raises (the exception goes
on to the caller). When the commit is ABORTED by contention, the client runs `work` again from
the start with a fresh unit of work, up to `max_attempts` times in all. So `work` reads and
writes only through the unit (all reads before the first write, as Firestore transactions
require), keeps no state across attempts, and anything it does outside Firestore must be
harmless to repeat (e.g. a publish whose consumer is idempotent).

Repositories bound to the unit read through its transaction and write into it; a repository
built with the client alone (`TaskRepository(db)`) works outside any transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Final, TypeVar

from google.cloud import firestore

from aide.adapters.repositories import (
    AgentRepository,
    ApiKeyRepository,
    AuditLogRepository,
    BillingRepository,
    DailyUsageRepository,
    IdempotencyRecordRepository,
    KnowledgeDocuments,
    KnowledgeEntityRepository,
    KnowledgeGraphQueries,
    KnowledgeObservationRepository,
    KnowledgeRelationRepository,
    MemoryEdgeRepository,
    MemoryNodeRepository,
    PlansRepository,
    ProbeRepository,
    ProbeResultRepository,
    ProcessedEventRepository,
    ProjectRepository,
    QuotaCounterRepository,
    TaskDispatchRepository,
    TaskGroupRepository,
    TaskRepository,
    TaskSlotsRepository,
    UserRepository,
)

if TYPE_CHECKING:
    from google.cloud.firestore import Client, DocumentReference, DocumentSnapshot, Transaction

T = TypeVar("T")

DEFAULT_ATTEMPTS: Final = 5
"""The client's own default: enough where few writers meet on one document."""
CONTENDED_ATTEMPTS: Final = 25
"""Task status changes and the runtime's writes: concurrent completions in one group, claims
on one slot pool, contend on one document."""
REQUEST_ATTEMPTS: Final = 10
"""Creates guarded by an Idempotency-Key and exactly-once event effects: the concurrent
duplicate of a request or delivery conflicts with the original until one commits."""


class UnitOfWork:
    """One transaction's repositories (created on first use, each bound to the transaction)."""

    def __init__(self, db: Client, transaction: Transaction) -> None:
        self.db = db
        self.transaction = transaction

    def get_all(self, refs: list[DocumentReference]) -> list[DocumentSnapshot]:
        """Documents of several collections in one read (what a repository's get_many does
        within one collection)."""
        return list(self.db.get_all(refs, transaction=self.transaction))

    @cached_property
    def agents(self) -> AgentRepository:
        return AgentRepository(self.db, self.transaction)

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        return ApiKeyRepository(self.db, self.transaction)

    @cached_property
    def audit_logs(self) -> AuditLogRepository:
        return AuditLogRepository(self.db, self.transaction)

    @cached_property
    def billing(self) -> BillingRepository:
        return BillingRepository(self.db, self.transaction)

    @cached_property
    def daily_usage(self) -> DailyUsageRepository:
        return DailyUsageRepository(self.db, self.transaction)

    @cached_property
    def idempotency_records(self) -> IdempotencyRecordRepository:
        return IdempotencyRecordRepository(self.db, self.transaction)

    @cached_property
    def knowledge_documents(self) -> KnowledgeDocuments:
        return KnowledgeDocuments(self.db, self.transaction)

    @cached_property
    def knowledge_entities(self) -> KnowledgeEntityRepository:
        return KnowledgeEntityRepository(self.db, self.transaction)

    @cached_property
    def knowledge_observations(self) -> KnowledgeObservationRepository:
        return KnowledgeObservationRepository(self.db, self.transaction)

    @cached_property
    def knowledge_relations(self) -> KnowledgeRelationRepository:
        return KnowledgeRelationRepository(self.db, self.transaction)

    @cached_property
    def knowledge_queries(self) -> KnowledgeGraphQueries:
        return KnowledgeGraphQueries(self.db, self.transaction)

    @cached_property
    def memory_nodes(self) -> MemoryNodeRepository:
        return MemoryNodeRepository(self.db, self.transaction)

    @cached_property
    def memory_edges(self) -> MemoryEdgeRepository:
        return MemoryEdgeRepository(self.db, self.transaction)

    @cached_property
    def plans(self) -> PlansRepository:
        return PlansRepository(self.db, self.transaction)

    @cached_property
    def probes(self) -> ProbeRepository:
        return ProbeRepository(self.db, self.transaction)

    @cached_property
    def probe_results(self) -> ProbeResultRepository:
        return ProbeResultRepository(self.db, self.transaction)

    @cached_property
    def processed_events(self) -> ProcessedEventRepository:
        return ProcessedEventRepository(self.db, self.transaction)

    @cached_property
    def projects(self) -> ProjectRepository:
        return ProjectRepository(self.db, self.transaction)

    @cached_property
    def quota_counters(self) -> QuotaCounterRepository:
        return QuotaCounterRepository(self.db, self.transaction)

    @cached_property
    def task_dispatches(self) -> TaskDispatchRepository:
        return TaskDispatchRepository(self.db, self.transaction)

    @cached_property
    def task_groups(self) -> TaskGroupRepository:
        return TaskGroupRepository(self.db, self.transaction)

    @cached_property
    def task_slots(self) -> TaskSlotsRepository:
        return TaskSlotsRepository(self.db, self.transaction)

    @cached_property
    def tasks(self) -> TaskRepository:
        return TaskRepository(self.db, self.transaction)

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.db, self.transaction)


def run_in_transaction(
    db: Client, work: Callable[[UnitOfWork], T], *, max_attempts: int = DEFAULT_ATTEMPTS
) -> T:
    """Run `work` in one transaction and commit what it wrote (see the module docstring)."""

    @firestore.transactional
    def attempt(transaction: Transaction) -> T:
        return work(UnitOfWork(db, transaction))

    result: T = attempt(db.transaction(max_attempts=max_attempts))
    return result
