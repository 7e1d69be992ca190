"""The functions that read provider keys bind them as secrets (else the deployed function reads
an empty key), and ones that read none do not ask for them."""

from __future__ import annotations

import pytest

import main


def bound_secrets(function_name: str) -> set[str]:
    endpoint = getattr(main, function_name).__firebase_endpoint__
    return {item["key"] for item in endpoint.secretEnvironmentVariables or []}


@pytest.mark.parametrize(
    ("function_name", "secrets"),
    [
        # Agent models (OpenAI-compatible, Gemini) and the task context's knowledge search.
        ("on_task_dispatched", {"OPENAI_API_KEY", "GEMINI_API_KEY"}),
        # The hosted embedder: knowledge writes and queries, GET /tasks/{id}/context.
        ("knowledge", {"GEMINI_API_KEY"}),
        ("tasks", {"GEMINI_API_KEY"}),
        ("health", set()),
    ],
)
def test_provider_keys_are_bound_where_they_are_read(function_name: str, secrets: set[str]) -> None:
    assert bound_secrets(function_name) == secrets
