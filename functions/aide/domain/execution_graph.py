"""What a task run looks like as data: its execution graph, progress, write pacing, sizes.

Pure (no I/O). The agent runtime (services.agent_runtime) builds these as steps finish; the
graph is stored on the task (`executionGraph`) for visualization, and the ids used here are the
same deterministic ids the memory graph (`agent_memory`) uses, so a redelivered run that finds a
step already stored knows it is done and never writes it twice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

from aide.domain.base import DocumentModel
from aide.domain.tasks import ExecutionGraph, ExecutionGraphEdge, ExecutionGraphNode

# Firestore's per-document sustained write rate is about one per second: the task document is
# written at most this often while a run streams its progress (events carry every step).
TASK_WRITE_MIN_INTERVAL_SECONDS: Final = 1.0
# Outputs whose JSON is larger than this go to Cloud Storage; the task keeps a reference.
INLINE_OUTPUT_LIMIT_BYTES: Final = 100 * 1024
# A step's full text lives in its memory node; bigger ones are cut so the node fits a document.
MAX_STEP_CONTENT_BYTES: Final = 32 * 1024
# What the event stream and the graph show of a step.
STEP_SUMMARY_CHARS: Final = 280

TASK_NODE_TYPE: Final = "task"
DEPENDENCY_NODE_TYPE: Final = "dependency"
STEP_NODE_TYPE: Final = "reasoning_step"
OUTPUT_NODE_TYPE: Final = "output"

_STEP_OF_PLAN = re.compile(r"\bStep\s+(\d+)\s*/\s*(\d+)\b")


def step_node_id(task_id: str, step_index: int) -> str:
    """The memory node (and graph node) id of step `step_index` (1-based) of `task_id`."""
    return f"{task_id}_step_{step_index:03d}"


def step_event_id(step_index: int) -> str:
    """The id of the step's event in tasks/{id}/events: one per step, whatever the attempt."""
    return f"step-{step_index:03d}"


def task_node_id(task_id: str) -> str:
    return f"task_{task_id}"


def output_node_id(task_id: str) -> str:
    return f"{task_id}_output"


def edge_id(source: str, target: str, label: str) -> str:
    return f"{source}__{label}__{target}"


def truncate_utf8(text: str, limit_bytes: int) -> str:
    """`text` cut to at most `limit_bytes` UTF-8 bytes (never inside a character)."""
    encoded = text.encode()
    if len(encoded) <= limit_bytes:
        return text
    return encoded[:limit_bytes].decode(errors="ignore")


def summarize(text: str, limit: int = STEP_SUMMARY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def json_size_bytes(value: Any) -> int:
    """Size of `value` as compact JSON, the measure for the inline-output limit."""
    return len(json.dumps(value, separators=(",", ":"), default=str).encode())


def estimate_progress(step_index: int, step_text: str, max_steps: int, *, done: bool) -> float:
    """Progress after step `step_index`: 1.0 when done; the agent's own "Step k/n" if it says
    so; else the share of the step budget used. Never 1.0 before the run is done."""
    if done:
        return 1.0
    match = _STEP_OF_PLAN.search(step_text)
    if match is not None and int(match.group(2)) > 0:
        ratio = int(match.group(1)) / int(match.group(2))
    else:
        ratio = step_index / max(max_steps, 1)
    return round(min(max(ratio, 0.0), 0.99), 4)


def memory_usage_bytes(*texts: str) -> int:
    """Estimate of what a run holds in memory: the conversation and outputs it keeps (UTF-8),
    which dominates its working set; process overhead is not the task's."""
    return sum(len(text.encode()) for text in texts)


@dataclass
class WriteThrottle:
    """Decides when the task document may be written again (≤ 1 per `min_interval`).

    `due(now)` answers whether a write may go now; `wrote(now)` records one. A value not
    written while throttled stays pending (`pending`) and goes with the next allowed write.
    """

    min_interval: float = TASK_WRITE_MIN_INTERVAL_SECONDS
    last_write: float | None = None
    pending: bool = False

    def due(self, now: float) -> bool:
        return self.last_write is None or now - self.last_write >= self.min_interval

    def wrote(self, now: float) -> None:
        self.last_write = now
        self.pending = False


@dataclass(frozen=True)
class StepRecord:
    """One finished reasoning step as the runtime keeps it."""

    index: int
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class GraphBuilder:
    """Builds a task's executionGraph: task ← dependencies, task → step 1 → … → output."""

    task_id: str
    nodes: list[ExecutionGraphNode] = field(default_factory=list)
    edges: list[ExecutionGraphEdge] = field(default_factory=list)

    @classmethod
    def start(cls, task_id: str, title: str, dependencies: list[str]) -> GraphBuilder:
        builder = cls(task_id)
        builder.nodes.append(
            ExecutionGraphNode(
                id=task_node_id(task_id),
                type=TASK_NODE_TYPE,
                status="running",
                data={"title": title},
            )
        )
        for dependency in dependencies:
            builder.nodes.append(
                ExecutionGraphNode(
                    id=task_node_id(dependency), type=DEPENDENCY_NODE_TYPE, status="completed"
                )
            )
            builder.edges.append(
                ExecutionGraphEdge(
                    source=task_node_id(dependency), target=task_node_id(task_id), label="input"
                )
            )
        return builder

    @classmethod
    def resume(cls, task_id: str, graph: ExecutionGraph) -> GraphBuilder:
        builder = cls(task_id, list(graph.nodes), list(graph.edges))
        builder.set_status("running")
        return builder

    def set_status(self, status: str) -> None:
        """The task node's status (the graph follows the task: running, queued, failed...)."""
        for index, node in enumerate(self.nodes):
            if node.id == task_node_id(self.task_id):
                self.nodes[index] = node.model_copy(update={"status": status})

    def completed_steps(self) -> list[int]:
        """Indexes of the steps the graph records as done (a previous attempt's checkpoint)."""
        return sorted(
            int(node.data["index"])
            for node in self.nodes
            if node.type == STEP_NODE_TYPE and isinstance(node.data, dict) and "index" in node.data
        )

    def add_step(self, step: StepRecord) -> None:
        node_id = step_node_id(self.task_id, step.index)
        if any(node.id == node_id for node in self.nodes):
            return
        previous = (
            task_node_id(self.task_id)
            if step.index == 1
            else step_node_id(self.task_id, step.index - 1)
        )
        self.nodes.append(
            ExecutionGraphNode(
                id=node_id,
                type=STEP_NODE_TYPE,
                status="completed",
                data={
                    "index": step.index,
                    "summary": summarize(step.text),
                    "tokens": step.total_tokens,
                    "retries": step.retries,
                },
            )
        )
        self.edges.append(ExecutionGraphEdge(source=previous, target=node_id, label="next"))

    def finish(self, status: str, *, output_summary: str | None = None) -> None:
        """Marks the task node with its final status; a completed run gets its output node."""
        self.set_status(status)
        if output_summary is None:
            return
        steps = self.completed_steps()
        last = step_node_id(self.task_id, steps[-1]) if steps else task_node_id(self.task_id)
        out_id = output_node_id(self.task_id)
        if not any(node.id == out_id for node in self.nodes):
            self.nodes.append(
                ExecutionGraphNode(
                    id=out_id,
                    type=OUTPUT_NODE_TYPE,
                    status="completed",
                    data={"summary": output_summary},
                )
            )
            self.edges.append(ExecutionGraphEdge(source=last, target=out_id, label="produces"))

    def graph(self) -> ExecutionGraph:
        return ExecutionGraph(nodes=list(self.nodes), edges=list(self.edges))


def graph_with_task_status(task_id: str, graph: ExecutionGraph, status: str) -> ExecutionGraph:
    """`graph` with its task node showing `status` (e.g. `queued` once a failed task is
    retried), the steps it records kept for the next attempt to resume after."""
    builder = GraphBuilder(task_id, list(graph.nodes), list(graph.edges))
    builder.set_status(status)
    return builder.graph()


class TaskGraphView(DocumentModel):
    """GET /tasks/{id}/graph: the run's execution graph (empty before the task starts)."""

    task_id: str
    status: str
    progress: float
    execution_graph: ExecutionGraph


class TaskOutputView(DocumentModel):
    """GET /tasks/{id}/output: the full outputs, read from Cloud Storage when stored there."""

    task_id: str
    outputs: dict[str, Any] | None = None
    stored: bool = False
