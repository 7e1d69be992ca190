"""Value types of the LLM provider port: requests, completions, token usage, errors, cancellation.

Pure: no network, no SDKs. The adapters in `aide.adapters.llm` translate these to and from each
provider's wire protocol; the agent runtime only ever sees these types.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

DEFAULT_TIMEOUT_SECONDS: Final = 120.0


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str

    @classmethod
    def user(cls, content: str) -> ChatMessage:
        return cls(Role.USER, content)

    @classmethod
    def assistant(cls, content: str) -> ChatMessage:
        return cls(Role.ASSISTANT, content)


@dataclass(frozen=True)
class GenerationOptions:
    temperature: float | None = None
    max_tokens: int | None = None
    # Whole-call budget; streaming calls enforce it across chunks, not per read.
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    messages: tuple[ChatMessage, ...]
    system_prompt: str = ""
    options: GenerationOptions = field(default_factory=GenerationOptions)
    # 1-based attempt number within a step, set by the retry loop; lets the deterministic
    # scripted provider inject "fail N times then succeed" without hidden state.
    attempt: int = 1
    # Provider-specific knobs (e.g. the scripted provider's failure scripts), typically taken
    # from the task's inputs; real providers ignore them.
    provider_options: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    # True when the provider did not report usage and the numbers are a word-count estimate.
    estimated: bool = False

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            estimated=self.estimated or other.estimated,
        )


@dataclass(frozen=True)
class Completion:
    text: str
    usage: TokenUsage
    model: str
    provider: str
    finish_reason: str | None = None


@dataclass(frozen=True)
class TextDelta:
    """A piece of streamed completion text, in order."""

    text: str


# A stream yields TextDelta events and always ends with exactly one Completion (full text + usage).
StreamEvent = TextDelta | Completion


def collect_stream(
    events: Iterable[StreamEvent], on_delta: Callable[[str], None] | None = None
) -> Completion:
    """Drain a provider stream, forwarding deltas, and return its final Completion."""
    for event in events:
        if isinstance(event, Completion):
            return event
        if on_delta is not None:
            on_delta(event.text)
    raise InvalidProviderResponse("stream ended without a final completion")


class StreamedCompletion:
    """A provider stream as it arrives: its text so far and the latest usage, model and finish
    reason the provider reported, adding up to the stream's final Completion."""

    def __init__(self, request: CompletionRequest, provider: str) -> None:
        self._request = request
        self._provider = provider
        self._parts: list[str] = []
        self.usage: TokenUsage | None = None
        self.model = request.model
        self.finish_reason: str | None = None

    def delta(self, text: str) -> TextDelta:
        self._parts.append(text)
        return TextDelta(text)

    def completion(self) -> Completion:
        text = "".join(self._parts)
        return Completion(
            text=text,
            usage=self.usage or estimated_usage(self._request, text),
            model=self.model,
            provider=self._provider,
            finish_reason=self.finish_reason,
        )


def estimate_tokens(text: str) -> int:
    """Rough token count (words and punctuation marks) for providers that report none."""
    count = 0
    in_word = False
    for char in text:
        if char.isalnum() or char == "_":
            if not in_word:
                count += 1
                in_word = True
        else:
            in_word = False
            if not char.isspace():
                count += 1
    return count


def estimated_usage(request: CompletionRequest, completion_text: str) -> TokenUsage:
    prompt = estimate_tokens(request.system_prompt) + sum(
        estimate_tokens(message.content) for message in request.messages
    )
    completion = estimate_tokens(completion_text)
    return TokenUsage(prompt, completion, prompt + completion, estimated=True)


# --- errors -------------------------------------------------------------------------------------


class ProviderError(Exception):
    """A provider call failed. `transient` says whether retrying the same request may succeed."""

    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status_code: int | None = None,
        code: str | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code
        self.code = code
        self.retry_after_seconds = retry_after_seconds
        # How many attempts were made before this error was raised (set by call_with_retries).
        self.attempts = 1

    def __str__(self) -> str:
        prefix = f"{self.provider}: " if self.provider else ""
        status = f" (HTTP {self.status_code})" if self.status_code is not None else ""
        return f"{prefix}{self.message}{status}"


class TransientProviderError(ProviderError):
    transient = True


class RateLimited(TransientProviderError):
    """HTTP 429 / RESOURCE_EXHAUSTED."""


class ProviderUnavailable(TransientProviderError):
    """5xx, 408, 409: the provider could not serve the request right now."""


class ProviderTimeout(TransientProviderError):
    pass


class ProviderConnectionError(TransientProviderError):
    """Connection refused or reset, or a stream cut off before its end."""


class PermanentProviderError(ProviderError):
    transient = False


class ProviderAuthError(PermanentProviderError):
    """401/403: missing, wrong or unauthorised key."""


class InvalidProviderRequest(PermanentProviderError):
    """400/404/422: bad request or unknown model."""


class InvalidProviderResponse(PermanentProviderError):
    """The provider answered with something that is not its protocol (or blocked the answer)."""


class ProviderConfigurationError(PermanentProviderError):
    """The agent's provider settings are unusable (unknown provider, missing key, bad option)."""


class ProviderCancelled(Exception):
    """The call was aborted through its CancelToken.

    Deliberately not a ProviderError: cancellation is not a failure and must never be retried.
    """


def error_for_status(
    status_code: int,
    message: str,
    *,
    provider: str,
    code: str | None = None,
    retry_after_seconds: float | None = None,
) -> ProviderError:
    """Classify an HTTP error status the way every provider adapter does."""
    error_class: type[ProviderError]
    if status_code == 429:
        error_class = RateLimited
    elif status_code in (408, 409) or status_code >= 500:
        error_class = ProviderUnavailable
    elif status_code in (401, 403):
        error_class = ProviderAuthError
    else:
        error_class = InvalidProviderRequest
    return error_class(
        message,
        provider=provider,
        status_code=status_code,
        code=code,
        retry_after_seconds=retry_after_seconds,
    )


# --- cancellation -------------------------------------------------------------------------------


class CancelToken:
    """Thread-safe cancellation handle shared by the runtime and an in-flight provider call.

    `cancel()` may be called from any thread (e.g. a Firestore listener); callbacks registered
    with `on_cancel` run in that thread, which is how adapters close sockets under a blocked read.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._next_id = 0
        self.reason = ""

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            if self._event.is_set():
                return
            self.reason = reason
            self._event.set()
            callbacks = list(self._callbacks.values())
            self._callbacks.clear()
        for callback in callbacks:
            callback()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to `timeout` seconds, waking early on cancel; True if cancelled."""
        return self._event.wait(timeout)

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise ProviderCancelled(self.reason or "cancelled")

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run `callback` once on cancel (immediately if already cancelled); returns unregister."""
        with self._lock:
            if not self._event.is_set():
                callback_id = self._next_id
                self._next_id += 1
                self._callbacks[callback_id] = callback
                return lambda: self._unregister(callback_id)
        callback()
        return lambda: None

    def _unregister(self, callback_id: int) -> None:
        with self._lock:
            self._callbacks.pop(callback_id, None)
