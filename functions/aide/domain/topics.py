"""Pub/Sub topic names (created by `firebase deploy` for the functions that subscribe to them)."""

from typing import Final

PROBES: Final = "probes"
# One message per dispatch ({"taskId", "dispatchId"}); the agent runtime consumes it.
TASK_DISPATCH: Final = "task-dispatch"

TOPICS: Final[dict[str, str]] = {"PROBES": PROBES, "TASK_DISPATCH": TASK_DISPATCH}
