"""provider_for: adapter selection by the agent's provider field; secrets read only when used."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from aide.adapters.llm import ProviderSettings, provider_for
from aide.adapters.llm.gemini import GeminiProvider
from aide.adapters.llm.openai_compatible import OpenAICompatibleProvider
from aide.adapters.llm.scripted import ScriptedProvider
from aide.domain.agents import Agent, AgentProvider
from aide.domain.llm import CancelToken, ChatMessage, CompletionRequest, ProviderConfigurationError


@dataclass(frozen=True)
class Choice:
    provider: str
    model: str


def unreadable_secret() -> str | None:
    raise AssertionError("secret read while building the provider")


REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ProviderSettings(openai_api_key=unreadable_secret, gemini_api_key=unreadable_secret)


@pytest.mark.parametrize(
    ("provider", "adapter"),
    [
        (AgentProvider.SCRIPTED, ScriptedProvider),
        (AgentProvider.OPENAI_COMPATIBLE, OpenAICompatibleProvider),
        (AgentProvider.GEMINI, GeminiProvider),
    ],
)
def test_selects_the_adapter_named_by_the_agent(provider: AgentProvider, adapter: type) -> None:
    agent = Agent(id="a", name="A", provider=provider, model="some-model")
    chosen = provider_for(agent, SETTINGS)
    assert isinstance(chosen, adapter)
    assert chosen.name == str(provider)


def test_unknown_provider_is_a_configuration_error() -> None:
    with pytest.raises(ProviderConfigurationError, match="unknown provider"):
        provider_for(Choice("anthropic", "x"), SETTINGS)


def test_misconfigured_scripted_agent_is_rejected_up_front() -> None:
    with pytest.raises(ProviderConfigurationError):
        provider_for(Choice("scripted", "scripted?nonsense=1"), SETTINGS)


def test_gemini_without_key_fails_at_call_time_as_configuration_error() -> None:
    provider = provider_for(Choice("gemini", "gemini-2.5-flash"), ProviderSettings())
    request = CompletionRequest(model="gemini-2.5-flash", messages=(ChatMessage.user("hi"),))
    with pytest.raises(ProviderConfigurationError, match="API key"):
        provider.complete(request, CancelToken())


def test_settings_from_params_read_secrets_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    settings = ProviderSettings.from_params()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-later")

    assert settings.openai_base_url == "http://127.0.0.1:11434/v1"
    assert settings.openai_api_key() == "sk-later"
    assert settings.gemini_vertexai is False


def test_importing_the_port_loads_no_http_client_or_sdk() -> None:
    # Cold starts of functions that never call a model must not pay for httpx or google-genai.
    code = (
        "import sys, aide.adapters.llm; "
        "print(sorted(m for m in ('httpx', 'google.genai') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "functions"), str(REPO_ROOT)]),
        },
        timeout=60,
    )
    assert result.stdout.strip() == "[]"
