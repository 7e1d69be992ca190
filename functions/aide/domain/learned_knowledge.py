"""What an agent learned while working a task, as it reports it in its final reply.

The final reply may carry one fenced block labelled `learned` holding a JSON list of entities in
the knowledge API's shape (name, entityType, observations):

    ```learned
    [{"name": "Billing Service", "entityType": "service", "observations": ["retries 3 times"]}]
    ```

The runtime writes them to the task's knowledge scope (aide.services.learned_knowledge). The
block is optional; a malformed one is reported, never a reason to fail the task.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError

from aide.domain.knowledge import EntityInput

LEARNED_BLOCK_LABEL: Final = "learned"
MAX_LEARNED_ENTITIES: Final = 20
_BLOCK: Final = re.compile(r"```learned[ \t]*\r?\n(.*?)```", re.DOTALL)

LEARNED_INSTRUCTIONS: Final = (
    "If you learned durable facts worth remembering for later tasks, end the final reply with a "
    f"```{LEARNED_BLOCK_LABEL} block holding a JSON list of "
    '{"name", "entityType", "observations": [...]} objects.'
)


@dataclass(frozen=True)
class LearnedFacts:
    entities: list[EntityInput]
    problem: str | None = None
    """Why the block (or part of it) was not usable, when it was not."""


def parse_learned(text: str) -> LearnedFacts:
    match = _BLOCK.search(text)
    if match is None:
        return LearnedFacts([])
    try:
        items = json.loads(match.group(1))
    except json.JSONDecodeError as error:
        return LearnedFacts([], f"the learned block is not JSON: {error.msg}")
    if not isinstance(items, list):
        return LearnedFacts([], "the learned block must be a JSON list of entities")
    entities: list[EntityInput] = []
    problems: list[str] = []
    for index, item in enumerate(items[:MAX_LEARNED_ENTITIES]):
        try:
            entities.append(EntityInput.model_validate(item))
        except ValidationError as error:
            problems.append(f"entity {index}: {error.errors()[0]['msg']}")
    if len(items) > MAX_LEARNED_ENTITIES:
        problems.append(f"only the first {MAX_LEARNED_ENTITIES} entities are kept")
    return LearnedFacts(entities, "; ".join(problems) or None)
