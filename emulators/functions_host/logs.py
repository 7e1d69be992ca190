"""The host's own log lines, through the local platform's shared JSON-lines logger, with the
request's trace id in the field Cloud Logging reads when there is one."""

from __future__ import annotations

from typing import Any

from emulators.json_log import JsonLog

_log = JsonLog("functions-host")


def log(severity: str, message: str, **fields: Any) -> None:
    # Absent fields (no trace header, ...) are left out rather than logged as null.
    _log.write(severity, message, **{k: v for k, v in fields.items() if v is not None})


def trace_field(project: str, trace_header: str | None) -> str | None:
    """`X-Cloud-Trace-Context: TRACE_ID/SPAN;o=1` → the Cloud Logging trace field."""
    if not trace_header:
        return None
    trace_id = trace_header.split("/", 1)[0].strip()
    return f"projects/{project}/traces/{trace_id}" if trace_id else None
