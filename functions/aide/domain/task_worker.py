"""The time budget of the function that runs tasks (main.on_task_dispatched), shared by its
declaration and by the validation of agent limits. No imports: main.py reads it at deploy
discovery, where every import adds to the cold start."""

from typing import Final

# The 2nd-gen maximum for an event-triggered function.
TIMEOUT_SECONDS: Final = 540
# What a run needs beyond its agent's own time limit: claiming the task, writing the final state
# and events, releasing the run slots. An agent whose limit eats into this would be killed by the
# platform mid-write instead of ending with a clear timeout.
HEADROOM_SECONDS: Final = 60
MAX_AGENT_TIMEOUT_SECONDS: Final = TIMEOUT_SECONDS - HEADROOM_SECONDS
