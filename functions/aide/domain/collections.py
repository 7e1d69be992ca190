"""Firestore collection names: the seed's COLLECTIONS exactly, then the ones this platform adds."""

from typing import Final

# The seed's COLLECTIONS (phase2-technical-guide.md), names unchanged.
USERS: Final = "users"
PROJECTS: Final = "projects"
TASKS: Final = "tasks"
TASK_GROUPS: Final = "task_groups"
AGENT_MEMORY: Final = "agent_memory"
KNOWLEDGE_GRAPH: Final = "knowledge_graph"
USAGE: Final = "usage"
BILLING: Final = "billing"
AUDIT_LOGS: Final = "audit_logs"
SYSTEM_CONFIG: Final = "system_config"

# Added by this platform.
AGENTS: Final = "agents"
API_KEYS: Final = "api_keys"
PROBES: Final = "probes"
PROBE_RESULTS: Final = "probe_results"
PROCESSED_EVENTS: Final = "processed_events"
IDEMPOTENCY_KEYS: Final = "idempotency_keys"
# Transactional outbox: a dispatch written with its task, published to Pub/Sub by a trigger.
TASK_DISPATCHES: Final = "task_dispatches"
# Sharded API-call counters, one document per user, day, counter generation and shard.
QUOTA_COUNTERS: Final = "quota_counters"
# Task-minute and storage charges, one document per charged key (exactly-once charging).
QUOTA_CHARGES: Final = "quota_charges"
# Per-user running/waiting task ids: the agent runtime's concurrency slots (server-only).
TASK_SLOTS: Final = "task_slots"

# Subcollections (path segments under a parent document).
TASK_EVENTS: Final = "events"  # tasks/{taskId}/events/{eventId}

SEED_COLLECTIONS: Final[dict[str, str]] = {
    "USERS": USERS,
    "PROJECTS": PROJECTS,
    "TASKS": TASKS,
    "TASK_GROUPS": TASK_GROUPS,
    "AGENT_MEMORY": AGENT_MEMORY,
    "KNOWLEDGE_GRAPH": KNOWLEDGE_GRAPH,
    "USAGE": USAGE,
    "BILLING": BILLING,
    "AUDIT_LOGS": AUDIT_LOGS,
    "SYSTEM_CONFIG": SYSTEM_CONFIG,
}

COLLECTIONS: Final[dict[str, str]] = {
    **SEED_COLLECTIONS,
    "AGENTS": AGENTS,
    "API_KEYS": API_KEYS,
    "PROBES": PROBES,
    "PROBE_RESULTS": PROBE_RESULTS,
    "PROCESSED_EVENTS": PROCESSED_EVENTS,
    "IDEMPOTENCY_KEYS": IDEMPOTENCY_KEYS,
    "TASK_DISPATCHES": TASK_DISPATCHES,
    "TASK_SLOTS": TASK_SLOTS,
    "QUOTA_COUNTERS": QUOTA_COUNTERS,
    "QUOTA_CHARGES": QUOTA_CHARGES,
}

SUBCOLLECTIONS: Final[dict[str, str]] = {"TASK_EVENTS": TASK_EVENTS}
