"""The user's dotenv files, loaded as the Firebase Functions emulator loads them, so
`firebase_functions.params` resolve locally as they do once deployed.

Order (later wins): `.env`, `.env.<project>`, `.env.local` (emulator only), then `.secret.local`
for secret params. Lines are `KEY=VALUE`; `#` starts a comment; single or double quotes around
a value are removed (double-quoted values understand `\\n`).
"""

from __future__ import annotations

from pathlib import Path


def load_user_env(source_dir: Path, project: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for name in (".env", f".env.{project}", ".env.local", ".secret.local"):
        path = source_dir / name
        if path.is_file():
            env.update(parse_dotenv(path.read_text(encoding="utf-8")))
    return env


def parse_dotenv(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n")
        else:
            value = value.split(" #", 1)[0].rstrip()
        if key:
            values[key] = value
    return values
