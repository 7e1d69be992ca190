"""Choosing and configuring the provider an agent runs on (`agent.provider`, `agent.model`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aide.adapters.llm.port import LlmProvider
from aide.domain.llm import ProviderConfigurationError


class ProviderChoice(Protocol):
    """What an agent document says about its model (aide.domain.agents.Agent satisfies it)."""

    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...


def _no_key() -> str | None:
    return None


@dataclass(frozen=True)
class ProviderSettings:
    """Deployment-wide provider settings. Keys are readers, called per request, never at import."""

    openai_api_key: Callable[[], str | None] = _no_key
    openai_base_url: str | None = None  # None: OpenAI itself
    openai_max_tokens_field: str = "max_tokens"
    gemini_api_key: Callable[[], str | None] = _no_key
    gemini_vertexai: bool = False
    gemini_project: str | None = None
    gemini_location: str | None = None
    gemini_base_url: str | None = None

    @classmethod
    def from_params(cls) -> ProviderSettings:
        """From the firebase_functions params in aide.config (secrets stay unread until used)."""
        from aide import config

        vertexai = config.GEMINI_USE_VERTEXAI.value
        return cls(
            openai_api_key=lambda: config.OPENAI_API_KEY.value or None,
            openai_base_url=config.OPENAI_BASE_URL.value or None,
            gemini_api_key=lambda: config.GEMINI_API_KEY.value or None,
            gemini_vertexai=vertexai,
            gemini_project=config.project_id() if vertexai else None,
            gemini_location=config.GEMINI_LOCATION.value if vertexai else None,
        )


def provider_for(agent: ProviderChoice, settings: ProviderSettings) -> LlmProvider:
    """The adapter for `agent.provider`; the model name travels in each CompletionRequest."""
    provider = str(agent.provider)
    if provider == "scripted":
        from aide.adapters.llm.scripted import ScriptedProvider, parse_knobs

        parse_knobs(agent.model, {})  # reject a misconfigured agent before any task runs
        return ScriptedProvider()
    if provider == "openai_compatible":
        from aide.adapters.llm.openai_compatible import DEFAULT_BASE_URL, OpenAICompatibleProvider

        return OpenAICompatibleProvider(
            settings.openai_base_url or DEFAULT_BASE_URL,
            settings.openai_api_key,
            max_tokens_field=settings.openai_max_tokens_field,
        )
    if provider == "gemini":
        from aide.adapters.llm.gemini import GeminiProvider, GeminiSettings

        return GeminiProvider(
            GeminiSettings(
                api_key=settings.gemini_api_key,
                vertexai=settings.gemini_vertexai,
                project=settings.gemini_project,
                location=settings.gemini_location,
                base_url=settings.gemini_base_url,
            )
        )
    raise ProviderConfigurationError(
        f"unknown provider {provider!r} (expected scripted, openai_compatible or gemini)",
        provider=provider,
    )
