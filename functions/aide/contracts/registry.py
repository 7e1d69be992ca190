"""What the contracts describe. Later features add their documents, payloads and endpoints here."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final

from pydantic import BaseModel

from aide.domain.agent_memory import MemoryEdge, MemoryEdgeType, MemoryNode, MemoryNodeType
from aide.domain.agents import (
    Agent,
    AgentEnvelope,
    AgentList,
    AgentProvider,
    AgentStatus,
    AgentTaskRequest,
)
from aide.domain.api_keys import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyEnvelope,
    ApiKeyIssued,
    ApiKeyList,
)
from aide.domain.audit_logs import ActorType, AuditLog, AuditLogPage, AuditLogQuery
from aide.domain.billing import BillingPeriod
from aide.domain.execution_graph import TaskGraphView, TaskOutputView
from aide.domain.health import HealthReport
from aide.domain.idempotency import IdempotencyRecord, ProcessedEvent
from aide.domain.knowledge import (
    EntitiesCreate,
    EntitiesDelete,
    GraphRead,
    GraphView,
    KnowledgeEntity,
    KnowledgeObservation,
    KnowledgeQuery,
    KnowledgeRelation,
    KnowledgeScopeStats,
    NodesOpen,
    NodesSearch,
    ObservationsAdd,
    ObservationsDelete,
    QueryResult,
    RelationsClose,
    RelationsCreate,
    RelationsDelete,
    ScopeRead,
    ScopeStatsView,
    WriteResult,
)
from aide.domain.probes import (
    Probe,
    ProbeCreated,
    ProbeMessage,
    ProbeResult,
    ProbeStatus,
    ProbeView,
)
from aide.domain.projects import (
    Project,
    ProjectCreate,
    ProjectDeleted,
    ProjectEnvelope,
    ProjectList,
    ProjectMemberAdd,
    ProjectUpdate,
    ProjectVisibility,
)
from aide.domain.system_config import PlanName, PlansConfig
from aide.domain.task_context import TaskContextView
from aide.domain.task_dispatch import TaskDispatch, TaskDispatchMessage
from aide.domain.task_events import StreamEventKind, TaskEvent, TaskEventList
from aide.domain.task_groups import TaskGroup, TaskGroupCreate, TaskGroupStatus, TaskGroupView
from aide.domain.tasks import (
    Task,
    TaskCancel,
    TaskCreate,
    TaskList,
    TaskListQuery,
    TaskPriority,
    TaskStatus,
    TaskView,
)
from aide.domain.usage import DailyUsage, UsageReport
from aide.domain.users import (
    AdminUserUpdate,
    PlanChange,
    RoleChange,
    StatusChange,
    SubscriptionStatus,
    Theme,
    User,
    UserEnvelope,
    UserRole,
    UserStatus,
    UserUpdate,
)

# One JSON Schema per Firestore document type (its JSON form: camelCase, RFC 3339 timestamps).
DOCUMENTS: Final[dict[str, type[BaseModel]]] = {
    "user": User,
    "task": Task,
    "task_event": TaskEvent,
    "task_group": TaskGroup,
    "project": Project,
    "agent": Agent,
    "memory_node": MemoryNode,
    "memory_edge": MemoryEdge,
    "knowledge_entity": KnowledgeEntity,
    "knowledge_relation": KnowledgeRelation,
    "knowledge_observation": KnowledgeObservation,
    "knowledge_scope_stats": KnowledgeScopeStats,
    "daily_usage": DailyUsage,
    "billing_period": BillingPeriod,
    "audit_log": AuditLog,
    "plans_config": PlansConfig,
    "api_key": ApiKey,
    "probe": Probe,
    "probe_result": ProbeResult,
    "processed_event": ProcessedEvent,
    "idempotency_record": IdempotencyRecord,
    "task_dispatch": TaskDispatch,
}

# Request bodies (validated strictly: unknown fields rejected).
REQUESTS: Final[dict[str, type[BaseModel]]] = {
    "task_create": TaskCreate,
    "task_group_create": TaskGroupCreate,
    "task_cancel": TaskCancel,
    "task_list_query": TaskListQuery,
    "project_create": ProjectCreate,
    "project_update": ProjectUpdate,
    "api_key_create": ApiKeyCreate,
    "user_update": UserUpdate,
    "admin_user_update": AdminUserUpdate,
    "admin_role_change": RoleChange,
    "admin_status_change": StatusChange,
    "admin_plan_change": PlanChange,
    "audit_log_query": AuditLogQuery,
    "agent_task_request": AgentTaskRequest,
    "project_member_add": ProjectMemberAdd,
    "knowledge_graph_read": GraphRead,
    "knowledge_nodes_open": NodesOpen,
    "knowledge_scope_read": ScopeRead,
}

# Response `data` payloads and messages that are not documents.
RESPONSES: Final[dict[str, type[BaseModel]]] = {
    "health_report": HealthReport,
    "probe_created": ProbeCreated,
    "probe_view": ProbeView,
    "probe_message": ProbeMessage,
    "task_dispatch_message": TaskDispatchMessage,
    "usage_report": UsageReport,
    "audit_log_page": AuditLogPage,
}

ENUMS: Final[dict[str, type[StrEnum]]] = {
    "userRole": UserRole,
    "userStatus": UserStatus,
    "theme": Theme,
    "subscriptionStatus": SubscriptionStatus,
    "taskStatus": TaskStatus,
    "taskPriority": TaskPriority,
    "taskEventKind": StreamEventKind,
    "taskGroupStatus": TaskGroupStatus,
    "projectVisibility": ProjectVisibility,
    "agentStatus": AgentStatus,
    "agentProvider": AgentProvider,
    "memoryNodeType": MemoryNodeType,
    "memoryEdgeType": MemoryEdgeType,
    "auditActorType": ActorType,
    "plan": PlanName,
    "probeStatus": ProbeStatus,
}


@dataclass(frozen=True)
class Endpoint:
    """One operation of an HTTP function. `path` is the sub-path after the function name."""

    function: str
    method: str
    path: str
    operation_id: str
    summary: str
    responses: dict[int, type[BaseModel] | None]
    """Success statuses and the model of `data` in the success envelope."""
    request: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    """Error statuses this operation can answer with (error envelope)."""
    authenticated: bool = False
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


ENDPOINTS: Final[list[Endpoint]] = [
    Endpoint(
        function="health",
        method="GET",
        path="/",
        operation_id="getHealth",
        summary="Version and reachability of Firestore, Pub/Sub and Storage",
        description="503 (same body shape) when any dependency does not answer.",
        responses={200: HealthReport, 503: HealthReport},
        tags=("platform",),
    ),
    Endpoint(
        function="probes",
        method="POST",
        path="/",
        operation_id="createProbe",
        summary="Start an end-to-end probe of the event pipeline",
        description=(
            "Writes probes/{probeId}; a Firestore trigger publishes it to Pub/Sub and the "
            "subscriber writes probe_results/{probeId} once."
        ),
        responses={201: ProbeCreated},
        tags=("platform",),
    ),
    Endpoint(
        function="probes",
        method="GET",
        path="/{probeId}",
        operation_id="getProbe",
        summary="A probe and, once the pipeline ran, its result",
        responses={200: ProbeView},
        errors=(404,),
        tags=("platform",),
    ),
    Endpoint(
        function="tasks",
        method="POST",
        path="/",
        operation_id="createTask",
        summary="Create a task (dispatched at once unless it waits for dependencies)",
        description=(
            "Optional `Idempotency-Key` header (1-255 printable ASCII characters): the same key "
            "and body within 24 hours answers the original result again (with the header "
            "`Idempotent-Replayed: true`) and creates nothing; the same key with another body "
            "is 409. `dependencies` are ids of the caller's existing tasks: unknown ones are 400, "
            "a failed or cancelled one is 409. Unknown `agentId`/`projectId` are 400."
        ),
        request=TaskCreate,
        responses={201: TaskView},
        errors=(400, 409),
        authenticated=True,
        tags=("tasks",),
    ),
    Endpoint(
        function="tasks",
        method="GET",
        path="/",
        operation_id="listTasks",
        summary="The caller's tasks, newest first, with filters and cursor pagination",
        description=(
            "Query parameters (schema task_list_query): status, projectId, priority, agentId, "
            "limit (1-100, default 20), cursor (the previous page's nextCursor, with the same "
            "filters). With the projectId of a project the caller can read, every task of that "
            "project is listed. Unknown or repeated parameters and bad cursors are 400."
        ),
        responses={200: TaskList},
        errors=(400,),
        authenticated=True,
        tags=("tasks",),
    ),
    Endpoint(
        function="tasks",
        method="GET",
        path="/{taskId}",
        operation_id="getTask",
        summary="A task the caller owns or can read through a team project",
        responses={200: TaskView},
        errors=(404,),
        authenticated=True,
        tags=("tasks",),
    ),
    Endpoint(
        function="tasks",
        method="GET",
        path="/{taskId}/events",
        operation_id="listTaskEvents",
        summary="The task's event stream so far, oldest first (at most 500)",
        description="Clients then listen to tasks/{taskId}/events in Firestore for live updates.",
        responses={200: TaskEventList},
        errors=(404,),
        authenticated=True,
        tags=("tasks",),
    ),
    Endpoint(
        function="tasks",
        method="POST",
        path="/{taskId}/cancel",
        operation_id="cancelTask",
        summary="Cancel a task, its unfinished subtasks and dependents (transitively)",
        description=(
            'Optional body {"reason"}. Cancelling a cancelled task returns it unchanged; a '
            "completed or failed task is 409."
        ),
        request=TaskCancel,
        responses={200: TaskView},
        errors=(404, 409),
        authenticated=True,
        tags=("tasks",),
    ),
    Endpoint(
        function="tasks",
        method="POST",
        path="/{taskId}/retry",
        operation_id="retryTask",
        summary="Queue a failed task again with a fresh attempt budget",
        description="Any task that is not failed is 409.",
        responses={200: TaskView},
        errors=(404, 409),
        authenticated=True,
        tags=("tasks",),
    ),
    Endpoint(
        function="tasks",
        method="GET",
        path="/{taskId}/context",
        operation_id="getTaskContext",
        summary="What the agent is given for the task (the seed's getContextForTask)",
        description=(
            "The task's inputs, its dependencies' outputs (inline, or outputRef when stored in "
            "Cloud Storage) and relevant memory: the dependencies' output nodes and the task's "
            "own reasoning steps stored so far."
        ),
        responses={200: TaskContextView},
        errors=(404,),
        authenticated=True,
        tags=("tasks",),
    ),
    Endpoint(
        function="tasks",
        method="GET",
        path="/{taskId}/graph",
        operation_id="getTaskGraph",
        summary="The task's execution graph: task, dependencies, reasoning steps, output",
        responses={200: TaskGraphView},
        errors=(404,),
        authenticated=True,
        tags=("tasks",),
    ),
    Endpoint(
        function="tasks",
        method="GET",
        path="/{taskId}/output",
        operation_id="getTaskOutput",
        summary="The task's full outputs, read from Cloud Storage when over 100 KiB",
        description=(
            "Small outputs are inline on the task; larger ones are stored in Cloud Storage and "
            "the task's `outputs` says `stored: true` with this `downloadPath`."
        ),
        responses={200: TaskOutputView},
        errors=(404,),
        authenticated=True,
        tags=("tasks",),
    ),
    Endpoint(
        function="task_groups",
        method="POST",
        path="/",
        operation_id="createTaskGroup",
        summary="Create up to 1,000 tasks naming each other by refs, atomically",
        description=(
            "Unknown, duplicate and self refs and dependency cycles are 400 naming the refs "
            "(error.details.code: UNKNOWN_REF, DUPLICATE_REF, SELF_DEPENDENCY, "
            "DUPLICATE_DEPENDENCY, DEPENDENCY_CYCLE with details.cycle). Tasks without "
            "dependencies are dispatched at once; the others when their last dependency "
            "completes. Same `Idempotency-Key` semantics as createTask."
        ),
        request=TaskGroupCreate,
        responses={201: TaskGroupView},
        errors=(400, 409),
        authenticated=True,
        tags=("task_groups",),
    ),
    Endpoint(
        function="task_groups",
        method="GET",
        path="/{groupId}",
        operation_id="getTaskGroup",
        summary="A task group with its status, progress, counters and {ref, id} of its tasks",
        responses={200: TaskGroupView},
        errors=(404,),
        authenticated=True,
        tags=("task_groups",),
    ),
    Endpoint(
        function="task_groups",
        method="POST",
        path="/{groupId}/cancel",
        operation_id="cancelTaskGroup",
        summary="Cancel every unfinished task of the group",
        description=(
            'Optional body {"reason"}. A group with nothing left to cancel is returned as is.'
        ),
        request=TaskCancel,
        responses={200: TaskGroupView},
        errors=(404,),
        authenticated=True,
        tags=("task_groups",),
    ),
    # --- agents, users, api_keys, projects (auth layer: aide.entrypoints.auth) ---------------
    Endpoint(
        function="agents",
        method="GET",
        path="/",
        operation_id="listAgents",
        summary="The agent registry, optionally filtered by ?status=idle|busy|offline",
        description="An unknown status is 400. API keys need scope agents:read.",
        responses={200: AgentList},
        errors=(400, 503),
        authenticated=True,
        tags=("agents",),
    ),
    Endpoint(
        function="agents",
        method="GET",
        path="/{agentId}",
        operation_id="getAgent",
        summary="One agent",
        responses={200: AgentEnvelope},
        errors=(404, 503),
        authenticated=True,
        tags=("agents",),
    ),
    Endpoint(
        function="agents",
        method="POST",
        path="/",
        operation_id="createAgentTask",
        summary="The seed's create-and-start: a task from {task: {description, priority}}",
        description=(
            "Creates the task through createTask's service and dispatches it; answers 200 (as "
            "the seed expects) with data.task. Without `task.title`, the title is the "
            "description's first line, cut at a word to at most 100 characters. Same "
            "`Idempotency-Key` semantics as createTask. API keys need scope tasks:write."
        ),
        request=AgentTaskRequest,
        responses={200: TaskView},
        errors=(400, 409, 503),
        authenticated=True,
        tags=("agents",),
    ),
    Endpoint(
        function="users",
        method="GET",
        path="/me",
        operation_id="getMe",
        summary="The caller's account (provisioned with the default plan on the first call)",
        responses={200: UserEnvelope},
        errors=(503,),
        authenticated=True,
        tags=("users",),
    ),
    Endpoint(
        function="users",
        method="PATCH",
        path="/me",
        operation_id="updateMe",
        summary="Change the caller's displayName and preferences (nothing else)",
        description="role, status, subscription, quotas and unknown fields are 400.",
        request=UserUpdate,
        responses={200: UserEnvelope},
        errors=(404, 503),
        authenticated=True,
        tags=("users",),
    ),
    Endpoint(
        function="users",
        method="GET",
        path="/{uid}",
        operation_id="getUser",
        summary="Any account (admins only)",
        responses={200: UserEnvelope},
        errors=(404, 503),
        authenticated=True,
        tags=("users",),
    ),
    Endpoint(
        function="users",
        method="PATCH",
        path="/{uid}",
        operation_id="updateUser",
        summary="Change an account's role or status (admins only)",
        request=AdminUserUpdate,
        responses={200: UserEnvelope},
        errors=(404, 503),
        authenticated=True,
        tags=("users",),
    ),
    Endpoint(
        function="api_keys",
        method="POST",
        path="/",
        operation_id="createApiKey",
        summary="Issue an API key; data.key is shown in this response only",
        description=(
            "Developers and admins, with an ID token (never with an API key). The key reads "
            "aide_<id>_<secret> and is sent as `Authorization: Bearer <key>` or `X-API-Key`. "
            "Unknown scopes and an expiresAt not in the future are 400."
        ),
        request=ApiKeyCreate,
        responses={201: ApiKeyIssued},
        errors=(503,),
        authenticated=True,
        tags=("api_keys",),
    ),
    Endpoint(
        function="api_keys",
        method="GET",
        path="/",
        operation_id="listApiKeys",
        summary="The caller's API keys, newest first (never the key or its hash)",
        responses={200: ApiKeyList},
        errors=(503,),
        authenticated=True,
        tags=("api_keys",),
    ),
    Endpoint(
        function="api_keys",
        method="GET",
        path="/{keyId}",
        operation_id="getApiKey",
        summary="One of the caller's API keys",
        responses={200: ApiKeyEnvelope},
        errors=(404, 503),
        authenticated=True,
        tags=("api_keys",),
    ),
    Endpoint(
        function="api_keys",
        method="DELETE",
        path="/{keyId}",
        operation_id="revokeApiKey",
        summary="Revoke one of the caller's API keys (idempotent)",
        responses={200: ApiKeyEnvelope},
        errors=(404, 503),
        authenticated=True,
        tags=("api_keys",),
    ),
    Endpoint(
        function="projects",
        method="POST",
        path="/",
        operation_id="createProject",
        summary="Create a project owned by the caller",
        request=ProjectCreate,
        responses={201: ProjectEnvelope},
        errors=(503,),
        authenticated=True,
        tags=("projects",),
    ),
    Endpoint(
        function="projects",
        method="GET",
        path="/",
        operation_id="listProjects",
        summary="Projects the caller owns and team projects they belong to (newest 100)",
        responses={200: ProjectList},
        errors=(503,),
        authenticated=True,
        tags=("projects",),
    ),
    Endpoint(
        function="projects",
        method="GET",
        path="/{projectId}",
        operation_id="getProject",
        summary="A project the caller owns or is a member of (team); 404 otherwise",
        responses={200: ProjectEnvelope},
        errors=(404, 503),
        authenticated=True,
        tags=("projects",),
    ),
    Endpoint(
        function="projects",
        method="PATCH",
        path="/{projectId}",
        operation_id="updateProject",
        summary="Change a project (owner only; members get 403)",
        description="A null description or settings clears it.",
        request=ProjectUpdate,
        responses={200: ProjectEnvelope},
        errors=(404, 503),
        authenticated=True,
        tags=("projects",),
    ),
    Endpoint(
        function="projects",
        method="DELETE",
        path="/{projectId}",
        operation_id="deleteProject",
        summary="Delete a project (owner only); its tasks keep their projectId",
        responses={200: ProjectDeleted},
        errors=(404, 503),
        authenticated=True,
        tags=("projects",),
    ),
    Endpoint(
        function="projects",
        method="POST",
        path="/{projectId}/members",
        operation_id="addProjectMember",
        summary="Add a user to a team project (owner only)",
        description="409 for a project that is not a team project; 400 for an unknown user.",
        request=ProjectMemberAdd,
        responses={200: ProjectEnvelope},
        errors=(404, 409, 503),
        authenticated=True,
        tags=("projects",),
    ),
    Endpoint(
        function="projects",
        method="DELETE",
        path="/{projectId}/members/{uid}",
        operation_id="removeProjectMember",
        summary="Remove a member (the owner removes anyone, a member removes themself)",
        responses={200: ProjectEnvelope},
        errors=(404, 503),
        authenticated=True,
        tags=("projects",),
    ),
    Endpoint(
        function="knowledge",
        method="POST",
        path="/entities",
        operation_id="createKnowledgeEntities",
        summary="Create entities with observations; names already in the scope are skipped",
        description=(
            "Atomic per request; projectId selects project knowledge (404 if not readable)."
        ),
        request=EntitiesCreate,
        responses={200: WriteResult},
        errors=(400, 404, 429, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
    Endpoint(
        function="knowledge",
        method="POST",
        path="/entities:delete",
        operation_id="deleteKnowledgeEntities",
        summary="Delete entities with their observations and relations",
        request=EntitiesDelete,
        responses={200: WriteResult},
        errors=(400, 404, 429, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
    Endpoint(
        function="knowledge",
        method="POST",
        path="/relations",
        operation_id="createKnowledgeRelations",
        summary="Create relations; identical open ones are skipped, supersede closes older ones",
        request=RelationsCreate,
        responses={200: WriteResult},
        errors=(400, 404, 429, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
    Endpoint(
        function="knowledge",
        method="POST",
        path="/relations:close",
        operation_id="closeKnowledgeRelations",
        summary="End open relations at validTo (kept for asOf reads)",
        request=RelationsClose,
        responses={200: WriteResult},
        errors=(400, 404, 429, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
    Endpoint(
        function="knowledge",
        method="POST",
        path="/relations:delete",
        operation_id="deleteKnowledgeRelations",
        summary="Delete open relations",
        request=RelationsDelete,
        responses={200: WriteResult},
        errors=(400, 404, 429, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
    Endpoint(
        function="knowledge",
        method="POST",
        path="/observations",
        operation_id="addKnowledgeObservations",
        summary="Add observations to entities; ones already present are skipped",
        request=ObservationsAdd,
        responses={200: WriteResult},
        errors=(400, 404, 429, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
    Endpoint(
        function="knowledge",
        method="POST",
        path="/observations:delete",
        operation_id="deleteKnowledgeObservations",
        summary="Delete observations",
        request=ObservationsDelete,
        responses={200: WriteResult},
        errors=(400, 404, 429, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
    Endpoint(
        function="knowledge",
        method="GET",
        path="/graph",
        operation_id="readKnowledgeGraph",
        summary="The scope's whole graph; relations valid at asOf (query: projectId, asOf)",
        responses={200: GraphView},
        errors=(400, 404, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
    Endpoint(
        function="knowledge",
        method="GET",
        path="/nodes",
        operation_id="openKnowledgeNodes",
        summary="Entities by name and the relations among them (names repeated, projectId, asOf)",
        responses={200: GraphView},
        errors=(400, 404, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
    Endpoint(
        function="knowledge",
        method="POST",
        path="/search",
        operation_id="searchKnowledgeNodes",
        summary="Entities whose name, type or an observation contains the query",
        request=NodesSearch,
        responses={200: GraphView},
        errors=(400, 404, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
    Endpoint(
        function="knowledge",
        method="POST",
        path="/query",
        operation_id="queryKnowledge",
        summary="Hybrid semantic + keyword search, type filter, focal reranking, k-hop context",
        request=KnowledgeQuery,
        responses={200: QueryResult},
        errors=(400, 404, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
    Endpoint(
        function="knowledge",
        method="GET",
        path="/stats",
        operation_id="getKnowledgeStats",
        summary="The scope's storage bytes and counts (query: projectId)",
        responses={200: ScopeStatsView},
        errors=(400, 404, 503),
        authenticated=True,
        tags=("knowledge",),
    ),
]

# Issue 6: the usage report and the admin function.
ENDPOINTS.extend(
    [
        Endpoint(
            function="users",
            method="GET",
            path="/me/usage",
            operation_id="getMyUsage",
            summary="The caller's usage, limits, reset times and daily history (not metered)",
            responses={200: UsageReport},
            errors=(401, 403, 503),
            authenticated=True,
            tags=("quotas",),
        ),
        Endpoint(
            function="admin",
            method="GET",
            path="/audit-logs",
            operation_id="listAuditLogs",
            summary=(
                "Audit entries, newest first (query: actorId, action, resourceType, resourceId, "
                "since, until, limit, cursor)"
            ),
            request=AuditLogQuery,
            responses={200: AuditLogPage},
            errors=(400, 401, 403),
            authenticated=True,
            tags=("admin",),
        ),
        Endpoint(
            function="admin",
            method="PUT",
            path="/users/{uid}/role",
            operation_id="setUserRole",
            summary="Set a user's role",
            request=RoleChange,
            responses={200: UserEnvelope},
            errors=(400, 401, 403, 404),
            authenticated=True,
            tags=("admin",),
        ),
        Endpoint(
            function="admin",
            method="PUT",
            path="/users/{uid}/status",
            operation_id="setUserStatus",
            summary="Set a user's status",
            request=StatusChange,
            responses={200: UserEnvelope},
            errors=(400, 401, 403, 404),
            authenticated=True,
            tags=("admin",),
        ),
        Endpoint(
            function="admin",
            method="PUT",
            path="/users/{uid}/plan",
            operation_id="setUserPlan",
            summary="Move a user to a plan and its limits (today's usage carries over)",
            request=PlanChange,
            responses={200: UserEnvelope},
            errors=(400, 401, 403, 404),
            authenticated=True,
            tags=("admin",),
        ),
        Endpoint(
            function="admin",
            method="POST",
            path="/users/{uid}/quota/reset",
            operation_id="resetUserQuota",
            summary="Start a user's API-call and task-minute periods afresh",
            responses={200: UserEnvelope},
            errors=(401, 403, 404),
            authenticated=True,
            tags=("admin",),
        ),
    ]
)

# Every authenticated call is metered (aide.entrypoints.metering): any of them may answer 429
# with {"error": "Quota exceeded", "limit", "reset"} in the error details, Retry-After and the
# RateLimit / RateLimit-Policy headers.
ENDPOINTS[:] = [
    replace(endpoint, errors=tuple(sorted({*endpoint.errors, 429})))
    if endpoint.authenticated
    else endpoint
    for endpoint in ENDPOINTS
]
