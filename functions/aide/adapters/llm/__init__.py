"""LLM providers for the agent runtime: the port, its adapters, retries and the factory.

    provider = provider_for(agent, ProviderSettings.from_params())
    completion = call_with_retries(
        lambda attempt: provider.complete(replace(request, attempt=attempt), cancel),
        RetryPolicy(), cancel, on_retry=record_retry,
    )

Adapters: `openai_compatible` (httpx), `gemini` (google-genai, imported on first call) and the
deterministic offline `scripted` provider. Value types and errors live in aide.domain.llm.
"""

from aide.adapters.llm.port import LlmProvider
from aide.adapters.llm.registry import ProviderChoice, ProviderSettings, provider_for
from aide.adapters.llm.retries import (
    NO_RETRIES,
    RetryAttempt,
    RetryPolicy,
    backoff_delay,
    call_with_retries,
)

__all__ = [
    "NO_RETRIES",
    "LlmProvider",
    "ProviderChoice",
    "ProviderSettings",
    "RetryAttempt",
    "RetryPolicy",
    "backoff_delay",
    "call_with_retries",
    "provider_for",
]
