"""What the contracts describe. Later features add their documents, payloads and endpoints here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel

from aide.domain.access import ADMIN_READ, ADMIN_WRITE
from aide.domain.agent_memory import MemoryEdge, MemoryEdgeType, MemoryNode, MemoryNodeType
from aide.domain.agents import (
    Agent,
    AgentEnvelope,
    AgentList,
    AgentListQuery,
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
from aide.domain.dashboard import DashboardView
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
    ProjectListQuery,
    ProjectMemberAdd,
    ProjectUpdate,
    ProjectVisibility,
)
from aide.domain.system_config import PlanName, PlansConfig
from aide.domain.task_context import TaskContextView
from aide.domain.task_dispatch import TaskDispatch, TaskDispatchMessage
from aide.domain.task_events import (
    StreamEventKind,
    TaskEvent,
    TaskEventList,
    TaskEventListQuery,
)
from aide.domain.task_groups import (
    TaskGroup,
    TaskGroupCreate,
    TaskGroupList,
    TaskGroupListQuery,
    TaskGroupStatus,
    TaskGroupView,
)
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
from aide.entrypoints.http_request import IDEMPOTENCY_HEADER
from aide.services.idempotent_requests import MAX_KEY_LENGTH

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
    "task_group_list_query": TaskGroupListQuery,
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
    "agent_list_query": AgentListQuery,
    "project_member_add": ProjectMemberAdd,
    "project_list_query": ProjectListQuery,
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
class RequestHeader:
    """A request header an operation reads (credentials are security schemes, not these)."""

    name: str
    description: str
    schema: dict[str, Any]
    required: bool = False


IDEMPOTENCY_KEY: Final = RequestHeader(
    name=IDEMPOTENCY_HEADER,
    description=(
        "The same key and body within 24 hours answers the original result again (with the "
        "response header `Idempotent-Replayed: true`) and creates nothing; the same key with "
        "another body is 409. A key that is empty, too long or not printable ASCII is 400."
    ),
    # aide.services.idempotent_requests.validate_key: printable ASCII without spaces.
    schema={"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[!-~]+$"},
)


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
    query: type[BaseModel] | None = None
    """The query string's model: each field is one `in: query` parameter (by its alias)."""
    headers: tuple[RequestHeader, ...] = ()
    errors: tuple[int, ...] = ()
    """Error statuses this operation can answer with (error envelope)."""
    authenticated: bool = False
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    document: bool = False
    """The 200 answer is a JSON document of its own (the OpenAPI document), not an envelope."""
    scope: str | None = None
    """The API-key scope the operation needs, when it is an admin scope (OpenAPI lists it in the
    operation's `apiKey` security requirement; tests/unit/test_routes_match_contract.py checks it
    against the route)."""
    openapi: bool = True
    """False for an operation that does not answer in the envelope (GraphQL, event streams):
    it is described by its own contract (shared/schema.graphql) and the README."""


@dataclass(frozen=True)
class _AuthenticatedFunction:
    """Declares the operations of one HTTP function behind the auth layer (aide.entrypoints.auth).

    `errors` are the statuses every operation of the function can answer with (503: Firestore
    does not answer); each operation adds its own.
    """

    function: str
    errors: tuple[int, ...] = ()

    def operation(
        self,
        method: str,
        path: str,
        operation_id: str,
        summary: str,
        data: type[BaseModel] | None,
        *,
        errors: tuple[int, ...] = (),
        request: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        headers: tuple[RequestHeader, ...] = (),
        status: int = 200,
        description: str = "",
        tag: str = "",
        scope: str | None = None,
    ) -> Endpoint:
        return Endpoint(
            function=self.function,
            method=method,
            path=path,
            operation_id=operation_id,
            summary=summary,
            description=description,
            request=request,
            query=query,
            headers=headers,
            responses={status: data},
            # Every authenticated call is metered (aide.entrypoints.metering): any of them may
            # answer 429 with {"error": "Quota exceeded", "limit", "reset"} in the error
            # details, Retry-After and the RateLimit / RateLimit-Policy headers.
            errors=tuple(sorted({*self.errors, *errors, 429})),
            authenticated=True,
            tags=(tag or self.function,),
            scope=scope,
        )


_TASKS: Final = _AuthenticatedFunction("tasks")
_TASK_GROUPS: Final = _AuthenticatedFunction("task_groups")
_AGENTS: Final = _AuthenticatedFunction("agents", errors=(503,))
_USERS: Final = _AuthenticatedFunction("users", errors=(503,))
_API_KEYS: Final = _AuthenticatedFunction("api_keys", errors=(503,))
_PROJECTS: Final = _AuthenticatedFunction("projects", errors=(503,))
# Every knowledge call names a scope: a bad projectId is 400, one the caller cannot read 404.
_KNOWLEDGE: Final = _AuthenticatedFunction("knowledge", errors=(400, 404, 503))
_ADMIN: Final = _AuthenticatedFunction("admin", errors=(401, 403))
# Admins only (API keys: admin:write to start, admin:read to read): a probe makes work.
_PROBES: Final = _AuthenticatedFunction("probes", errors=(401, 403))
_DASHBOARD: Final = _AuthenticatedFunction("dashboard", errors=(503,))

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
        function="health",
        method="GET",
        path="/openapi.json",
        operation_id="getOpenApi",
        summary="This API reference (OpenAPI 3.1), as shared/openapi.json",
        description=(
            "The document itself, not wrapped in the envelope, for API tools (Swagger UI, "
            "Redoc, client generators). Anonymous and cacheable."
        ),
        responses={200: None},
        tags=("platform",),
        document=True,
    ),
    _PROBES.operation(
        "POST",
        "/",
        "createProbe",
        "Start an end-to-end probe of the event pipeline (admins)",
        ProbeCreated,
        status=201,
        description=(
            "Writes probes/{probeId}; a Firestore trigger publishes it to Pub/Sub and the "
            "subscriber writes probe_results/{probeId} once. Admins only (API keys need the "
            "`admin:write` scope): a probe costs writes, a trigger and a message."
        ),
        tag="platform",
        scope=ADMIN_WRITE,
    ),
    _PROBES.operation(
        "GET",
        "/{probeId}",
        "getProbe",
        "A probe and, once the pipeline ran, its result (admins)",
        ProbeView,
        errors=(404,),
        tag="platform",
        scope=ADMIN_READ,
    ),
    _TASKS.operation(
        "POST",
        "/",
        "createTask",
        "Create a task (dispatched at once unless it waits for dependencies)",
        TaskView,
        status=201,
        request=TaskCreate,
        headers=(IDEMPOTENCY_KEY,),
        errors=(400, 409),
        description=(
            "`dependencies` are ids of the caller's existing tasks: unknown ones are 400, "
            "a failed or cancelled one is 409. Unknown `agentId`/`projectId` are 400."
        ),
    ),
    _TASKS.operation(
        "GET",
        "/",
        "listTasks",
        "The caller's tasks, newest first, with filters and cursor pagination",
        TaskList,
        query=TaskListQuery,
        errors=(400,),
        description="Unknown or repeated query parameters and bad cursors are 400.",
    ),
    _TASKS.operation(
        "GET",
        "/{taskId}",
        "getTask",
        "A task the caller owns or can read through a team project",
        TaskView,
        errors=(404,),
    ),
    _TASKS.operation(
        "GET",
        "/{taskId}/events",
        "listTaskEvents",
        "The task's event stream so far, oldest first, a page at a time",
        TaskEventList,
        query=TaskEventListQuery,
        errors=(400, 404),
        description=(
            "Pages as every list does: `limit` (1-100, default 100) and the previous page's "
            "`nextCursor` as `cursor`; `nextCursor` is absent on the last page. Clients then "
            "listen to tasks/{taskId}/events in Firestore for live updates."
        ),
    ),
    _TASKS.operation(
        "POST",
        "/{taskId}/cancel",
        "cancelTask",
        "Cancel a task, its unfinished subtasks and dependents (transitively)",
        TaskView,
        request=TaskCancel,
        errors=(404, 409),
        description=(
            'Optional body {"reason"}. Cancelling a cancelled task returns it unchanged; a '
            "completed or failed task is 409."
        ),
    ),
    _TASKS.operation(
        "POST",
        "/{taskId}/retry",
        "retryTask",
        "Queue a failed task again with a fresh attempt budget",
        TaskView,
        errors=(404, 409),
        description=(
            "Any task that is not failed is 409, and so is a task already retried the plan's "
            "manualRetriesPerTask times. attempts keeps counting; the dependents the failure "
            "cancelled become pending again (tasks cancelled by the user stay cancelled)."
        ),
    ),
    _TASKS.operation(
        "GET",
        "/{taskId}/context",
        "getTaskContext",
        "What the agent is given for the task (the seed's getContextForTask)",
        TaskContextView,
        errors=(404,),
        description=(
            "The task's inputs, its dependencies' outputs (inline, or outputRef when stored in "
            "Cloud Storage) and relevant memory: the dependencies' output nodes and the task's "
            "own reasoning steps stored so far."
        ),
    ),
    _TASKS.operation(
        "GET",
        "/{taskId}/graph",
        "getTaskGraph",
        "The task's execution graph: task, dependencies, reasoning steps, output",
        TaskGraphView,
        errors=(404,),
    ),
    _TASKS.operation(
        "GET",
        "/{taskId}/output",
        "getTaskOutput",
        "The task's full outputs, read from Cloud Storage when over 100 KiB",
        TaskOutputView,
        errors=(404,),
        description=(
            "Small outputs are inline on the task; larger ones are stored in Cloud Storage and "
            "the task's `outputs` says `stored: true` with this `downloadPath`."
        ),
    ),
    _TASK_GROUPS.operation(
        "POST",
        "/",
        "createTaskGroup",
        "Create up to 1,000 tasks naming each other by refs, atomically",
        TaskGroupView,
        status=201,
        request=TaskGroupCreate,
        headers=(IDEMPOTENCY_KEY,),
        errors=(400, 409),
        description=(
            "Unknown, duplicate and self refs and dependency cycles are 400 naming the refs "
            "(error.details.code: UNKNOWN_REF, DUPLICATE_REF, SELF_DEPENDENCY, "
            "DUPLICATE_DEPENDENCY, DEPENDENCY_CYCLE with details.cycle). Tasks without "
            "dependencies are dispatched at once; the others when their last dependency "
            "completes."
        ),
    ),
    _TASK_GROUPS.operation(
        "GET",
        "/",
        "listTaskGroups",
        "The caller's task groups, newest first, with filters and cursor pagination",
        TaskGroupList,
        query=TaskGroupListQuery,
        errors=(400,),
        description=(
            "The caller's own groups, or with `projectId` of a project the caller can read every "
            "group of that project. Same cursor contract as every list; unknown or repeated "
            "query parameters and bad cursors are 400. Clients list their groups live with the "
            "Firestore query `task_groups where userId == uid order by createdAt desc` "
            "(indexed, allowed by the rules)."
        ),
    ),
    _TASK_GROUPS.operation(
        "GET",
        "/{groupId}",
        "getTaskGroup",
        "A task group with its status, progress, counters and {ref, id} of its tasks",
        TaskGroupView,
        errors=(404,),
    ),
    _TASK_GROUPS.operation(
        "POST",
        "/{groupId}/cancel",
        "cancelTaskGroup",
        "Cancel every unfinished task of the group",
        TaskGroupView,
        request=TaskCancel,
        errors=(404,),
        description=(
            'Optional body {"reason"}. A group with nothing left to cancel is returned as is.'
        ),
    ),
    _TASK_GROUPS.operation(
        "POST",
        "/{groupId}/retry",
        "retryTaskGroup",
        "Retry every failed task of the group, reviving what their failures cancelled",
        TaskGroupView,
        errors=(404, 409),
        description=(
            "Each failed task is queued again (as POST /tasks/{taskId}/retry) and the "
            "dependents its failure cancelled become pending again; tasks cancelled by the "
            "user stay cancelled. 409 when no task failed or a task reached the plan's "
            "manualRetriesPerTask."
        ),
    ),
    _AGENTS.operation(
        "GET",
        "/",
        "listAgents",
        "The agent registry, optionally filtered by ?status=idle|busy|offline",
        AgentList,
        query=AgentListQuery,
        errors=(400,),
        description="An unknown status is 400. API keys need scope agents:read.",
    ),
    _AGENTS.operation("GET", "/{agentId}", "getAgent", "One agent", AgentEnvelope, errors=(404,)),
    _AGENTS.operation(
        "POST",
        "/",
        "createAgentTask",
        "The seed's create-and-start: a task from {task: {description, priority}}",
        TaskView,
        request=AgentTaskRequest,
        headers=(IDEMPOTENCY_KEY,),
        errors=(400, 409),
        description=(
            "Creates the task through createTask's service and dispatches it; answers 200 (as "
            "the seed expects) with data.task. Without `task.title`, the title is the "
            "description's first line, cut at a word to at most 100 characters. API keys need "
            "scope tasks:write."
        ),
    ),
    _USERS.operation(
        "GET",
        "/me",
        "getMe",
        "The caller's account (provisioned with the default plan on the first call)",
        UserEnvelope,
    ),
    _USERS.operation(
        "PATCH",
        "/me",
        "updateMe",
        "Change the caller's displayName and preferences (nothing else)",
        UserEnvelope,
        request=UserUpdate,
        errors=(404,),
        description="role, status, subscription, quotas and unknown fields are 400.",
    ),
    _USERS.operation(
        "GET",
        "/{uid}",
        "getUser",
        "Any account (admins only)",
        UserEnvelope,
        errors=(404,),
        scope=ADMIN_READ,
    ),
    _USERS.operation(
        "PATCH",
        "/{uid}",
        "updateUser",
        "Change an account's role or status (admins only)",
        UserEnvelope,
        request=AdminUserUpdate,
        errors=(404,),
        scope=ADMIN_WRITE,
    ),
    _API_KEYS.operation(
        "POST",
        "/",
        "createApiKey",
        "Issue an API key; data.key is shown in this response only",
        ApiKeyIssued,
        status=201,
        request=ApiKeyCreate,
        description=(
            "Developers and admins, with an ID token (never with an API key); admin scopes "
            "need the admin role. The key reads aide_<id>_<secret> and is sent as "
            "`Authorization: Bearer <key>` or `X-API-Key`. It acts with its owner's current "
            "role, and not at all while the owner is below developer. Unknown scopes and an "
            "expiresAt not in the future are 400."
        ),
    ),
    _API_KEYS.operation(
        "GET",
        "/",
        "listApiKeys",
        "The caller's API keys, newest first (never the key or its hash); any role",
        ApiKeyList,
    ),
    _API_KEYS.operation(
        "GET",
        "/{keyId}",
        "getApiKey",
        "One of the caller's API keys",
        ApiKeyEnvelope,
        errors=(404,),
    ),
    _API_KEYS.operation(
        "DELETE",
        "/{keyId}",
        "revokeApiKey",
        "Revoke one of the caller's API keys (idempotent); any role",
        ApiKeyEnvelope,
        errors=(404,),
    ),
    _PROJECTS.operation(
        "POST",
        "/",
        "createProject",
        "Create a project owned by the caller",
        ProjectEnvelope,
        status=201,
        request=ProjectCreate,
    ),
    _PROJECTS.operation(
        "GET",
        "/",
        "listProjects",
        "Projects the caller owns and team projects they belong to, newest first",
        ProjectList,
        query=ProjectListQuery,
        errors=(400,),
        description="Unknown or repeated query parameters and bad cursors are 400.",
    ),
    _PROJECTS.operation(
        "GET",
        "/{projectId}",
        "getProject",
        "A project the caller owns or is a member of (team); 404 otherwise",
        ProjectEnvelope,
        errors=(404,),
    ),
    _PROJECTS.operation(
        "PATCH",
        "/{projectId}",
        "updateProject",
        "Change a project (owner only; members get 403)",
        ProjectEnvelope,
        request=ProjectUpdate,
        errors=(404,),
        description="A null description or settings clears it.",
    ),
    _PROJECTS.operation(
        "DELETE",
        "/{projectId}",
        "deleteProject",
        "Delete a project (owner only); its tasks keep their projectId",
        ProjectDeleted,
        errors=(404,),
    ),
    _PROJECTS.operation(
        "POST",
        "/{projectId}/members",
        "addProjectMember",
        "Add a user to a team project (owner only)",
        ProjectEnvelope,
        request=ProjectMemberAdd,
        errors=(404, 409),
        description="409 for a project that is not a team project; 400 for an unknown user.",
    ),
    _PROJECTS.operation(
        "DELETE",
        "/{projectId}/members/{uid}",
        "removeProjectMember",
        "Remove a member (the owner removes anyone, a member removes themself)",
        ProjectEnvelope,
        errors=(404,),
    ),
    _KNOWLEDGE.operation(
        "POST",
        "/entities",
        "createKnowledgeEntities",
        "Create entities with observations; names already in the scope are skipped",
        WriteResult,
        request=EntitiesCreate,
        description=(
            "Atomic per request; projectId selects project knowledge (404 if not readable)."
        ),
    ),
    _KNOWLEDGE.operation(
        "POST",
        "/entities:delete",
        "deleteKnowledgeEntities",
        "Delete entities with their observations and relations",
        WriteResult,
        request=EntitiesDelete,
    ),
    _KNOWLEDGE.operation(
        "POST",
        "/relations",
        "createKnowledgeRelations",
        "Create relations; identical open ones are skipped, supersede closes older ones",
        WriteResult,
        request=RelationsCreate,
    ),
    _KNOWLEDGE.operation(
        "POST",
        "/relations:close",
        "closeKnowledgeRelations",
        "End open relations at validTo (kept for asOf reads)",
        WriteResult,
        request=RelationsClose,
    ),
    _KNOWLEDGE.operation(
        "POST",
        "/relations:delete",
        "deleteKnowledgeRelations",
        "Delete open relations",
        WriteResult,
        request=RelationsDelete,
    ),
    _KNOWLEDGE.operation(
        "POST",
        "/observations",
        "addKnowledgeObservations",
        "Add observations to entities; ones already present are skipped",
        WriteResult,
        request=ObservationsAdd,
    ),
    _KNOWLEDGE.operation(
        "POST",
        "/observations:delete",
        "deleteKnowledgeObservations",
        "Delete observations",
        WriteResult,
        request=ObservationsDelete,
    ),
    _KNOWLEDGE.operation(
        "GET",
        "/graph",
        "readKnowledgeGraph",
        "The scope's whole graph; relations valid at asOf",
        GraphView,
        query=GraphRead,
    ),
    _KNOWLEDGE.operation(
        "GET",
        "/nodes",
        "openKnowledgeNodes",
        "Entities by name and the relations among them",
        GraphView,
        query=NodesOpen,
    ),
    _KNOWLEDGE.operation(
        "POST",
        "/search",
        "searchKnowledgeNodes",
        "Entities whose name, type or an observation contains the query",
        GraphView,
        request=NodesSearch,
    ),
    _KNOWLEDGE.operation(
        "POST",
        "/query",
        "queryKnowledge",
        "Hybrid semantic + keyword search, type filter, focal reranking, k-hop context",
        QueryResult,
        request=KnowledgeQuery,
    ),
    _KNOWLEDGE.operation(
        "GET",
        "/stats",
        "getKnowledgeStats",
        "The scope's storage bytes and counts",
        ScopeStatsView,
        query=ScopeRead,
    ),
    # Quotas: the usage report; and the admin function.
    _USERS.operation(
        "GET",
        "/me/usage",
        "getMyUsage",
        "The caller's usage, limits, reset times and daily history (not metered)",
        UsageReport,
        errors=(401, 403),
        tag="quotas",
    ),
    _DASHBOARD.operation(
        "GET",
        "/",
        "getDashboard",
        "Stats, active agents, recent tasks and projects, usage vs quota, alerts",
        DashboardView,
        description=(
            "One parallel round of reads: count aggregations for the stats (no task document "
            "read), the newest 10 tasks and 5 projects, the usage report."
        ),
    ),
    # A server-sent event stream, not an envelope: described in the README ("Event streams").
    Endpoint(
        function="dashboard",
        method="GET",
        path="/events",
        operation_id="streamDashboardEvents",
        summary="Server-sent events: task-update, agent-update, stats-update (Last-Event-ID)",
        responses={200: None},
        errors=(400, 429),
        authenticated=True,
        openapi=False,
        tags=("dashboard",),
    ),
    # The GraphQL gateway answers in GraphQL's shape and admits callers itself (to refuse them
    # in that shape): its contract is shared/schema.graphql, not OpenAPI.
    Endpoint(
        function="graphql",
        method="POST",
        path="/",
        operation_id="graphqlPost",
        summary="GraphQL queries, mutations, and subscriptions (Accept: text/event-stream)",
        responses={200: None},
        openapi=False,
        tags=("graphql",),
    ),
    Endpoint(
        function="graphql",
        method="GET",
        path="/",
        operation_id="graphqlGet",
        summary="GraphQL queries in the query string",
        responses={200: None},
        openapi=False,
        tags=("graphql",),
    ),
    _ADMIN.operation(
        "GET",
        "/audit-logs",
        "listAuditLogs",
        "Audit entries, newest first, filtered and paginated by cursor",
        AuditLogPage,
        query=AuditLogQuery,
        errors=(400,),
        scope=ADMIN_READ,
    ),
    _ADMIN.operation(
        "PUT",
        "/users/{uid}/role",
        "setUserRole",
        "Set a user's role",
        UserEnvelope,
        request=RoleChange,
        errors=(400, 404),
        scope=ADMIN_WRITE,
    ),
    _ADMIN.operation(
        "PUT",
        "/users/{uid}/status",
        "setUserStatus",
        "Set a user's status",
        UserEnvelope,
        request=StatusChange,
        errors=(400, 404),
        scope=ADMIN_WRITE,
    ),
    _ADMIN.operation(
        "PUT",
        "/users/{uid}/plan",
        "setUserPlan",
        "Move a user to a plan and its limits (today's usage carries over)",
        UserEnvelope,
        request=PlanChange,
        errors=(400, 404),
        scope=ADMIN_WRITE,
    ),
    _ADMIN.operation(
        "POST",
        "/users/{uid}/quota/reset",
        "resetUserQuota",
        "Start a user's API-call and task-minute periods afresh",
        UserEnvelope,
        errors=(404,),
        scope=ADMIN_WRITE,
    ),
]
