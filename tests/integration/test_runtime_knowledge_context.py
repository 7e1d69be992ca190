"""The agent runtime and project knowledge, against the Firestore emulator (indexes enforced) with
the real local embedding model (all-MiniLM-L6-v2 on CPU, as the retrieval tests use):
getContextForTask includes the top knowledge hits of the task's project (or of its owner's own
knowledge), the provider's prompt carries them, a failing search never fails the task, and an
agent's `learned` facts are written back through the knowledge service, once per task."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from aide.adapters.embeddings.local_minilm import LocalMiniLmEmbedder
from aide.adapters.llm.registry import ProviderSettings, provider_for
from aide.adapters.llm.scripted import FINAL_ANSWER_PREFIX
from aide.adapters.repositories.tasks import TaskRepository
from aide.adapters.repositories.users import UserRepository
from aide.domain.agents import Agent
from aide.domain.knowledge import EntityInput, RelationInput
from aide.domain.llm import (
    CancelToken,
    Completion,
    CompletionRequest,
    Role,
    StreamEvent,
)
from aide.domain.projects import ProjectCreate
from aide.domain.task_context import TaskContextView
from aide.domain.task_lifecycle import TaskStatus
from aide.domain.tasks import Task
from aide.services import knowledge, knowledge_search, projects
from aide.services.agent_runtime import RunOutcome, execute_dispatched_task
from aide.services.knowledge import KnowledgeScope
from aide.services.learned_knowledge import learn_from_task
from aide.services.task_context import get_context_for_task
from tests.integration.test_agent_runtime import deps, load, queued_task, seed_agent
from tests.integration.test_runtime_charges import make_user

# One model for the module (loading takes seconds).
EMBEDDER = LocalMiniLmEmbedder()


class CountingEmbedder:
    """The real model, counting its calls (to show when knowledge search is skipped)."""

    def __init__(self) -> None:
        self.calls = 0

    @property
    def name(self) -> str:
        return EMBEDDER.name

    @property
    def dimension(self) -> int:
        return EMBEDDER.dimension

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return EMBEDDER.embed(texts)


class BrokenEmbedder(CountingEmbedder):
    def embed(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("embedding backend unreachable")


class RecordingProvider:
    """The scripted provider, keeping every request it was sent (to read the real prompt)."""

    name = "scripted"

    def __init__(self, agent: Agent, final_suffix: str = "") -> None:
        self.inner = provider_for(agent, ProviderSettings())
        self.requests: list[CompletionRequest] = []
        self.final_suffix = final_suffix

    def complete(self, request: CompletionRequest, cancel: CancelToken) -> Completion:
        raise NotImplementedError("the runtime streams")

    def stream(self, request: CompletionRequest, cancel: CancelToken) -> Iterator[StreamEvent]:
        self.requests.append(request)
        for event in self.inner.stream(request, cancel):
            if isinstance(event, Completion) and event.text.startswith(FINAL_ANSWER_PREFIX):
                yield replace(event, text=event.text + self.final_suffix)
            else:
                yield event

    def first_prompt(self) -> str:
        return next(m.content for m in self.requests[0].messages if m.role is Role.USER)


def entity(name: str, entity_type: str, *observations: str) -> EntityInput:
    return EntityInput.model_validate(
        {"name": name, "entityType": entity_type, "observations": list(observations)}
    )


def seed_release_knowledge(db: Any, scope: KnowledgeScope) -> None:
    knowledge.create_entities(
        db,
        EMBEDDER,
        scope,
        [
            entity(
                "Release notes style guide",
                "guideline",
                "Release notes list breaking changes first, then new features, then fixes.",
                "Each entry links the pull request that introduced it.",
            ),
            entity("Changelog bot", "tool", "Collects merged pull requests for each release."),
            entity("Office coffee machine", "equipment", "Descales every Friday afternoon."),
        ],
    )
    knowledge.create_relations(
        db,
        scope,
        [
            RelationInput.model_validate(
                {
                    "from": "Changelog bot",
                    "to": "Release notes style guide",
                    "relationType": "follows",
                }
            )
        ],
    )


@pytest.fixture
def project(fs_client: Any) -> str:
    created = projects.create_project(fs_client, "u1", ProjectCreate(name="Shop"))
    return created.id


def run_with(db: Any, provider: RecordingProvider, embedder: Any, task_id: str = "t1") -> Any:
    runtime = replace(deps(db), providers=lambda _agent: provider, embedder=embedder)
    return execute_dispatched_task(runtime, task_id)


def test_a_project_task_gets_its_projects_top_knowledge_in_context_and_prompt(
    fs_client: Any, project: str
) -> None:
    agent = seed_agent(fs_client)
    seed_release_knowledge(fs_client, KnowledgeScope("u1", project))
    # Another project of the same owner knows something just as relevant: never seen here.
    other = projects.create_project(fs_client, "u1", ProjectCreate(name="Other")).id
    knowledge.create_entities(
        fs_client,
        EMBEDDER,
        KnowledgeScope("u1", other),
        [entity("Secret release plan", "plan", "Release notes are drafted by legal.")],
    )
    queued_task(fs_client, project_id=project, inputs={"providerOptions": {"steps": 2}})
    provider = RecordingProvider(agent)

    assert run_with(fs_client, provider, EMBEDDER).outcome is RunOutcome.COMPLETED

    task = load(fs_client, "t1")
    context = get_context_for_task(fs_client, task, embedder=EMBEDDER)
    names = [item.name for item in context.knowledge.items]
    assert names[0] == "Release notes style guide", names
    assert "Secret release plan" not in names and len(names) <= 5
    top = context.knowledge.items[0]
    assert top.entity_type == "guideline" and top.score > 0
    assert any("breaking changes first" in text for text in top.observations)
    assert [(r.source, r.relation_type, r.target) for r in context.knowledge.relations] == [
        ("Changelog bot", "follows", "Release notes style guide")
    ]
    assert context.knowledge.project_id == project and context.knowledge.unavailable is None
    prompt = provider.first_prompt()
    assert "Relevant knowledge:" in prompt and "breaking changes first" in prompt
    assert "Changelog bot follows Release notes style guide" in prompt
    # GET /tasks/{id}/context serves the same view model.
    body = TaskContextView(context=context).to_document()
    assert body["context"]["knowledge"]["items"][0]["entityType"] == "guideline"


def test_a_task_without_project_reads_its_owners_own_knowledge(fs_client: Any) -> None:
    agent = seed_agent(fs_client)
    seed_release_knowledge(fs_client, KnowledgeScope("u1"))
    seed_release_knowledge(fs_client, KnowledgeScope("someone-else"))
    queued_task(fs_client, inputs={"providerOptions": {"steps": 1}})
    provider = RecordingProvider(agent)
    assert run_with(fs_client, provider, EMBEDDER).outcome is RunOutcome.COMPLETED
    context = get_context_for_task(fs_client, load(fs_client, "t1"), embedder=EMBEDDER)
    assert context.knowledge.project_id is None
    assert context.knowledge.items[0].name == "Release notes style guide"
    assert "breaking changes first" in provider.first_prompt()


def test_a_scope_without_knowledge_is_not_searched(fs_client: Any, project: str) -> None:
    agent = seed_agent(fs_client)
    queued_task(fs_client, project_id=project, inputs={"providerOptions": {"steps": 1}})
    embedder = CountingEmbedder()
    provider = RecordingProvider(agent)
    assert run_with(fs_client, provider, embedder).outcome is RunOutcome.COMPLETED
    assert embedder.calls == 0
    assert "Relevant knowledge" not in provider.first_prompt()


def test_a_failing_knowledge_search_is_logged_and_the_task_still_runs(
    fs_client: Any, project: str, caplog: pytest.LogCaptureFixture
) -> None:
    agent = seed_agent(fs_client)
    seed_release_knowledge(fs_client, KnowledgeScope("u1", project))
    queued_task(fs_client, project_id=project, inputs={"providerOptions": {"steps": 1}})
    with caplog.at_level(logging.WARNING):
        report = run_with(fs_client, RecordingProvider(agent), BrokenEmbedder())
    assert report.outcome is RunOutcome.COMPLETED
    assert load(fs_client, "t1").status is TaskStatus.COMPLETED
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("knowledge search failed" in r.getMessage() for r in warnings)
    context = get_context_for_task(fs_client, load(fs_client, "t1"), embedder=BrokenEmbedder())
    assert context.knowledge.items == []
    assert context.knowledge.unavailable == "knowledge search failed: RuntimeError"


def test_a_project_the_owner_lost_access_to_gives_no_knowledge(fs_client: Any) -> None:
    task = Task(id="t9", user_id="u1", title="Release notes", description="Write them now.")
    task = task.model_copy(update={"project_id": "not-a-project"})
    context = get_context_for_task(fs_client, task, embedder=BrokenEmbedder())
    assert context.knowledge.items == []
    assert context.knowledge.unavailable is not None and "project" in context.knowledge.unavailable


LEARNED = """
```learned
[{"name": "Payment gateway", "entityType": "service",
  "observations": ["Refunds take five business days to settle."]},
 {"name": "Release notes style guide", "entityType": "guideline",
  "observations": ["Security fixes get their own section."]}]
```"""


def test_an_agent_writes_what_it_learned_to_the_projects_knowledge_once(
    fs_client: Any, project: str
) -> None:
    agent = seed_agent(fs_client)
    make_user(fs_client, "u1")
    scope = KnowledgeScope("u1", project)
    seed_release_knowledge(fs_client, scope)
    queued_task(fs_client, project_id=project, inputs={"providerOptions": {"steps": 2}})
    provider = RecordingProvider(agent, final_suffix=LEARNED)

    assert run_with(fs_client, provider, EMBEDDER).outcome is RunOutcome.COMPLETED

    graph = knowledge_search.open_nodes(
        fs_client, scope, ["Payment gateway", "Release notes style guide"]
    )
    by_name = {view.name: view for view in graph.entities}
    assert by_name["Payment gateway"].observations == ["Refunds take five business days to settle."]
    assert by_name["Payment gateway"].metadata["learnedFromTask"] == "t1"
    # A known entity keeps its own data and gains the new observation.
    assert (
        "Security fixes get their own section." in by_name["Release notes style guide"].observations
    )
    assert len(by_name["Release notes style guide"].observations) == 3
    stats = knowledge.scope_stats(fs_client, scope)
    user = UserRepository(fs_client).get("u1")
    assert user is not None
    storage_before = user.quotas.storage_bytes.used
    assert storage_before > 0  # what was learned counts towards the owner's storage

    # Learning again from the same task (a redelivery, a resumed attempt) changes nothing.
    again = learn_from_task(
        fs_client, load(fs_client, "t1"), f"{FINAL_ANSWER_PREFIX} done{LEARNED}", embedder=EMBEDDER
    )
    assert (again.entities_created, again.observations_added) == (0, 0)
    assert knowledge.scope_stats(fs_client, scope) == stats
    user = UserRepository(fs_client).get("u1")
    assert user is not None and user.quotas.storage_bytes.used == storage_before
    # The next task of the project sees what was learned.
    TaskRepository(fs_client).save(
        Task(
            id="t2",
            user_id="u1",
            project_id=project,
            title="Refund question",
            description="How long until a customer's refund settles?",
        )
    )
    context = get_context_for_task(fs_client, load(fs_client, "t2"), embedder=EMBEDDER)
    assert context.knowledge.items[0].name == "Payment gateway"


def test_a_malformed_learned_block_is_ignored(fs_client: Any, project: str) -> None:
    agent = seed_agent(fs_client)
    queued_task(fs_client, project_id=project, inputs={"providerOptions": {"steps": 1}})
    provider = RecordingProvider(agent, final_suffix="\n```learned\n{not json\n```")
    assert run_with(fs_client, provider, EMBEDDER).outcome is RunOutcome.COMPLETED
    assert knowledge.scope_stats(fs_client, KnowledgeScope("u1", project)).entity_count == 0
    assert TaskRepository(fs_client).get("t1") is not None
