"""agents/{agentId}: the registry of agents that execute tasks."""

from enum import StrEnum

from pydantic import Field

from aide.domain import task_worker
from aide.domain.base import DocumentModel, RequestModel
from aide.domain.free_form import FreeFormMap
from aide.domain.tasks import TaskCreate, TaskPriority
from aide.domain.timestamps import UtcDateTime, utc_now


class AgentStatus(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    OFFLINE = "offline"


class AgentProvider(StrEnum):
    # Deterministic and offline; the default locally so the whole lifecycle runs without keys.
    SCRIPTED = "scripted"
    OPENAI_COMPATIBLE = "openai_compatible"
    GEMINI = "gemini"


class AgentLimits(DocumentModel):
    timeout_seconds: int = Field(default=300, ge=1)
    max_steps: int = Field(default=20, ge=1)
    concurrency: int = Field(default=4, ge=1)


class Agent(DocumentModel):
    id: str
    name: str
    description: str = ""
    capabilities: list[str] = Field(default_factory=list)
    provider: AgentProvider = AgentProvider.SCRIPTED
    model: str
    system_prompt: str = ""
    status: AgentStatus = AgentStatus.IDLE
    limits: AgentLimits = Field(default_factory=AgentLimits)
    built_in: bool = False
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)


class InvalidAgentDefinition(ValueError):
    """An agent definition the platform cannot honour; nothing is written."""


def validate_agent_definition(agent: Agent) -> Agent:
    """`agent` unchanged if the platform can run it as defined, else InvalidAgentDefinition.
    Every write of an agent definition goes through here (the seed; any admin path)."""
    timeout = agent.limits.timeout_seconds
    if timeout > task_worker.MAX_AGENT_TIMEOUT_SECONDS:
        raise InvalidAgentDefinition(
            f"agent {agent.id!r}: limits.timeoutSeconds {timeout} exceeds "
            f"{task_worker.MAX_AGENT_TIMEOUT_SECONDS} (the task worker function's timeout of "
            f"{task_worker.TIMEOUT_SECONDS} s less {task_worker.HEADROOM_SECONDS} s for the "
            "run's own writes); the platform would kill the run mid-way"
        )
    return agent


class AgentList(DocumentModel):
    agents: list[Agent]


class AgentListQuery(RequestModel):
    """GET /agents query string (other parameters are ignored, as they always were)."""

    status: AgentStatus | None = Field(default=None, description="Only agents in this status")


class AgentEnvelope(DocumentModel):
    agent: Agent


TITLE_MAX_LENGTH = 100
_ELLIPSIS = "..."


class AgentTaskSpec(RequestModel):
    """The seed's `POST /agents` task: a description and a priority; the rest is optional."""

    description: str = Field(min_length=10, max_length=5000)
    priority: TaskPriority = TaskPriority.MEDIUM
    title: str | None = Field(default=None, min_length=3, max_length=TITLE_MAX_LENGTH)
    agent_id: str | None = None
    project_id: str | None = None
    inputs: FreeFormMap | None = None

    def to_task_create(self) -> TaskCreate:
        return TaskCreate(
            title=self.title or title_from_description(self.description),
            description=self.description,
            priority=self.priority,
            agent_id=self.agent_id,
            project_id=self.project_id,
            inputs=self.inputs,
        )


class AgentTaskRequest(RequestModel):
    """POST /agents — `{"task": {"description", "priority"}}` creates and starts a task."""

    task: AgentTaskSpec


def title_from_description(description: str) -> str:
    """A task title (3-100 chars) for a request that sent only a description.

    The description's first non-empty line with whitespace collapsed, cut at a word boundary
    with "..." when longer than 100 characters; the whole description when that line is shorter
    than 3 characters (the description itself is at least 10).
    """
    lines = [" ".join(line.split()) for line in description.splitlines()]
    first = next((line for line in lines if line), "")
    if len(first) < 3:
        first = " ".join(description.split())
    if len(first) <= TITLE_MAX_LENGTH:
        return first
    cut = first[: TITLE_MAX_LENGTH - len(_ELLIPSIS)]
    at_word = cut.rsplit(" ", 1)[0] if " " in cut else cut
    if len(at_word) < 3:
        at_word = cut
    return at_word.rstrip() + _ELLIPSIS


def choose_agent(agents: list[Agent], title: str, description: str) -> Agent | None:
    """The agent for a task created without `agentId` (documented rule): among agents that are
    not offline, the one with the most capabilities named (case-insensitively, as words or
    word prefixes) in the task's title and description; ties go to the lowest id. None when
    every agent is offline."""
    words = {word.strip(".,;:!?()[]'\"").lower() for word in f"{title} {description}".split()}

    def score(agent: Agent) -> int:
        return sum(
            1
            for capability in agent.capabilities
            if any(word.startswith(capability.lower()) for word in words if word)
        )

    available = sorted(
        (agent for agent in agents if agent.status is not AgentStatus.OFFLINE), key=lambda a: a.id
    )
    if not available:
        return None
    return max(available, key=score)
