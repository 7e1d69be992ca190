"""Parsing an agent's `learned` block, and the knowledge section of a task's context."""

from __future__ import annotations

from aide.domain.knowledge import EntityView, KnowledgeHit, RelationView
from aide.domain.learned_knowledge import MAX_LEARNED_ENTITIES, parse_learned
from aide.domain.task_context import OBSERVATIONS_PER_HIT, KnowledgeContext


def test_a_reply_without_a_block_learned_nothing() -> None:
    facts = parse_learned("FINAL ANSWER: done")
    assert facts.entities == [] and facts.problem is None


def test_valid_entities_are_kept_and_bad_ones_reported() -> None:
    text = (
        "FINAL ANSWER: ok\n```learned\n"
        '[{"name": "Redis", "entityType": "datastore", "observations": ["caches sessions"]},'
        ' {"name": "", "entityType": "x"}]\n```'
    )
    facts = parse_learned(text)
    assert [(e.name, e.observations) for e in facts.entities] == [("Redis", ["caches sessions"])]
    assert facts.problem is not None and facts.problem.startswith("entity 1:")


def test_malformed_blocks_are_reported_not_raised() -> None:
    assert parse_learned("```learned\n{oops\n```").problem is not None
    assert "JSON list" in (parse_learned('```learned\n{"a": 1}\n```').problem or "")
    many = ",".join(f'{{"name": "E{i}", "entityType": "t"}}' for i in range(30))
    facts = parse_learned(f"```learned\n[{many}]\n```")
    assert len(facts.entities) == MAX_LEARNED_ENTITIES and facts.problem is not None


def hit(
    name: str, score: float, observations: list[str], matched: str | None = None
) -> KnowledgeHit:
    return KnowledgeHit(
        entity=EntityView(name=name, entity_type="service", observations=observations),
        score=score,
        matched_observation=matched,
    )


def test_knowledge_context_puts_the_matching_observation_first_and_bounds_the_rest() -> None:
    relation = RelationView.model_validate(
        {"from": "A", "to": "B", "relationType": "calls", "validFrom": "2026-01-01T00:00:00Z"}
    )
    outside = RelationView.model_validate(
        {"from": "A", "to": "Z", "relationType": "calls", "validFrom": "2026-01-01T00:00:00Z"}
    )
    context = KnowledgeContext.from_hits(
        "p1",
        [
            hit("A", 0.9, ["one", "two", "three", "four", "x" * 1000], matched="four"),
            hit("B", 0.5, []),
        ],
        [relation, outside],
    )
    assert context.items[0].observations[0] == "four"
    assert len(context.items[0].observations) == OBSERVATIONS_PER_HIT
    assert [r.target for r in context.relations] == ["B"]
    section = context.prompt_section()
    assert section is not None and "- A (service): four; one; two" in section
    assert "- A calls B" in section and "Z" not in section
    assert KnowledgeContext().prompt_section() is None
