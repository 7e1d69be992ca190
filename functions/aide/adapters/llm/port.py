"""The LLM provider port: what the agent runtime needs from any model backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from aide.domain.llm import CancelToken, Completion, CompletionRequest, StreamEvent


class LlmProvider(Protocol):
    """One model backend. Implementations are thread-safe and cheap to construct.

    Both calls check `cancel` before starting and abort promptly (well under a second) when it
    fires mid-call, raising ProviderCancelled. Failures raise ProviderError subclasses whose
    `transient` flag tells `call_with_retries` whether to try again.
    """

    @property
    def name(self) -> str: ...

    def complete(self, request: CompletionRequest, cancel: CancelToken) -> Completion:
        """The whole reply at once."""
        ...

    def stream(self, request: CompletionRequest, cancel: CancelToken) -> Iterator[StreamEvent]:
        """TextDelta events as they are generated, then exactly one final Completion.

        Closing the iterator early releases the connection.
        """
        ...
