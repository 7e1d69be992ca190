"""Deployment configuration: firebase_functions params, read lazily (values exist only at runtime).

Declaring a param here makes `firebase deploy` ask for it; reading `.value` at import time would
break deploy discovery, so every accessor below is a function.
Provider API keys are declared as `SecretParam`s next to the functions that bind them (agent
runtime), because the CLI prompts for every declared secret on deploy.
"""

import functools
import json
import os
from typing import Final

from firebase_functions import params

from aide import __version__

REGION: Final = "us-central1"
VERSION: Final = __version__
# Local stacks use this project id (see .firebaserc); "demo-" projects never reach production.
DEMO_PROJECT_ID: Final = "demo-aide"

# No wildcard default: a deployed project names the origins allowed to call it cross-origin.
# Empty means none, which is all the web app needs when Hosting serves it with the functions
# behind its /api rewrites (same origin). Locally an empty value means any origin (make dev).
CORS_ORIGINS = params.StringParam(
    "CORS_ORIGINS",
    default="",
    description=(
        "Comma-separated origins allowed to call the API cross-origin, e.g. "
        "'https://app.example.com'. Empty: none (the web app on Firebase Hosting calls "
        "/api/... on its own origin). '*' allows any origin except 'null'."
    ),
)

ID_TOKEN_RECHECK_SECONDS = params.IntParam(
    "ID_TOKEN_RECHECK_SECONDS",
    default=30,
    description=(
        "Seconds one instance trusts an ID token it has checked against Firebase Auth (revoked "
        "sessions, disabled users) before checking it again; 0 checks on every call."
    ),
)

# LLM providers (aide.adapters.llm reads these when an agent calls a model, never at import).
OPENAI_API_KEY = params.SecretParam(
    "OPENAI_API_KEY",
    description="Bearer key for the OpenAI-compatible provider (empty for Ollama/llama.cpp).",
)
OPENAI_BASE_URL = params.StringParam(
    "OPENAI_BASE_URL",
    default="https://api.openai.com/v1",
    description="Base URL of the OpenAI-compatible chat-completions server (OpenAI, vLLM, Ollama).",
)
GEMINI_API_KEY = params.SecretParam(
    "GEMINI_API_KEY",
    description="Gemini API key (not needed when GEMINI_USE_VERTEXAI is true).",
)
GEMINI_USE_VERTEXAI = params.BoolParam(
    "GEMINI_USE_VERTEXAI",
    default=False,
    description="Call Gemini through Vertex AI with the service account instead of an API key.",
)
GEMINI_LOCATION = params.StringParam(
    "GEMINI_LOCATION", default="us-central1", description="Vertex AI location for Gemini."
)


def project_id() -> str:
    """The Google Cloud project: GCLOUD_PROJECT / GOOGLE_CLOUD_PROJECT / FIREBASE_CONFIG.

    Emulated environments without any of these get the demo project; elsewhere the project of
    the Application Default Credentials, and an error when there is none.
    """
    for name in ("GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT"):
        value = os.environ.get(name)
        if value:
            return value
    firebase_config = os.environ.get("FIREBASE_CONFIG", "")
    if firebase_config.startswith("{"):
        project = json.loads(firebase_config).get("projectId")
        if project:
            return str(project)
    if any(os.environ.get(host) for host in _EMULATOR_HOST_VARIABLES):
        return DEMO_PROJECT_ID
    return _project_from_credentials()


@functools.cache
def _project_from_credentials() -> str:
    # Last resort, never at import time: Application Default Credentials know their project
    # (on Google Cloud, from the metadata server).
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        _, project = google.auth.default()
    except DefaultCredentialsError as error:
        raise RuntimeError("no Google Cloud project configured (set GCLOUD_PROJECT)") from error
    if not project:
        raise RuntimeError("no Google Cloud project configured (set GCLOUD_PROJECT)")
    return str(project)


_EMULATOR_HOST_VARIABLES: Final = (
    "FIRESTORE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
    "FIREBASE_AUTH_EMULATOR_HOST",
)


def storage_bucket() -> str:
    """The default bucket: the built-in STORAGE_BUCKET param, else `{project}.appspot.com`."""
    return params.STORAGE_BUCKET.value or f"{project_id()}.appspot.com"


def cors_origins() -> tuple[str, ...]:
    """The configured origins; when none are configured, any origin locally, none deployed."""
    named = tuple(origin.strip() for origin in CORS_ORIGINS.value.split(",") if origin.strip())
    if not named and not is_deployed():
        return ("*",)
    return named


def is_deployed() -> bool:
    """True in a deployed function: Cloud Run sets K_SERVICE, and the local functions host
    (like the Firebase emulator) marks itself with FUNCTIONS_EMULATOR=true."""
    return bool(os.environ.get("K_SERVICE")) and os.environ.get("FUNCTIONS_EMULATOR") != "true"


def id_token_recheck_seconds() -> int:
    return max(0, int(ID_TOKEN_RECHECK_SECONDS.value))


TRUSTED_PROXY_HOPS = params.IntParam(
    "TRUSTED_PROXY_HOPS",
    default=0,
    description=(
        "Proxies between Google's front end and the functions that append to X-Forwarded-For "
        "(0 when clients call the functions directly; 1 behind one load balancer or CDN). The "
        "audited client IP is the entry this many places left of the right end."
    ),
)


def trusted_proxy_hops() -> int:
    return max(TRUSTED_PROXY_HOPS.value, 0)
