"""Structured logs: one JSON object per line on stdout, the format Cloud Logging parses.

Each line carries `severity` and `message`; inside a request also the request id and
`logging.googleapis.com/trace` (`projects/{project}/traces/{traceId}`, from X-Cloud-Trace-Context),
so every line of one request groups under its trace in the console.
Extra structured fields: `log.info("...", extra={"fields": {...}})`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

TRACE_KEY = "logging.googleapis.com/trace"
SPAN_KEY = "logging.googleapis.com/spanId"
SAMPLED_KEY = "logging.googleapis.com/trace_sampled"
ROOT_LOGGER = "aide"

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}
# "TRACE_ID/SPAN_ID;o=OPTIONS" where span and options are optional.
_TRACE_HEADER = re.compile(r"^(?P<trace>[0-9a-fA-F]{1,32})(?:/(?P<span>\d+))?(?:;o=(?P<o>\d))?$")


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    trace: str | None = None  # full resource name: projects/{p}/traces/{id}
    span_id: str | None = None
    sampled: bool = False


_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "aide_request_context", default=None
)


def parse_trace_header(value: str | None) -> tuple[str, str | None, bool] | None:
    """(trace id, span id, sampled) from an X-Cloud-Trace-Context value, None if malformed."""
    if not value:
        return None
    match = _TRACE_HEADER.match(value.strip())
    if match is None:
        return None
    return match["trace"].lower(), match["span"], match["o"] == "1"


def new_request_context(
    *, trace_header: str | None, request_id: str | None, project: str | None
) -> RequestContext:
    """Context for one request from its X-Cloud-Trace-Context and X-Request-Id headers."""
    trace = parse_trace_header(trace_header)
    rid = request_id or uuid.uuid4().hex
    # Request ids travel in headers and logs; bound them so a client cannot flood either.
    rid = rid[:128]
    if trace is None:
        return RequestContext(request_id=rid)
    trace_id, span_id, sampled = trace
    resource = f"projects/{project}/traces/{trace_id}" if project else trace_id
    return RequestContext(request_id=rid, trace=resource, span_id=span_id, sampled=sampled)


@contextlib.contextmanager
def bind_request_context(context: RequestContext) -> Iterator[RequestContext]:
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


def current_request_context() -> RequestContext | None:
    return _context.get()


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "logger": record.name,
        }
        if record.exc_info:
            # Error Reporting recognises a stack trace appended to the message.
            entry["message"] = f"{entry['message']}\n{self.formatException(record.exc_info)}"
        context = _context.get()
        if context is not None:
            entry["requestId"] = context.request_id
            if context.trace:
                entry[TRACE_KEY] = context.trace
                entry[SAMPLED_KEY] = context.sampled
            if context.span_id:
                entry[SPAN_KEY] = context.span_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                entry.setdefault(str(key), value)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(stream: TextIO | None = None, level: str | None = None) -> logging.Logger:
    """Sends the `aide` logger tree to stdout as JSON lines. Idempotent."""
    logger = logging.getLogger(ROOT_LOGGER)
    for handler in list(logger.handlers):
        if getattr(handler, "_aide_json", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonLineFormatter())
    handler._aide_json = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    logger.propagate = False
    return logger


def get_logger(name: str) -> logging.Logger:
    """A logger under `aide` (module names already are: pass __name__)."""
    if not logging.getLogger(ROOT_LOGGER).handlers:
        configure_logging()
    if name != ROOT_LOGGER and not name.startswith(ROOT_LOGGER + "."):
        name = f"{ROOT_LOGGER}.{name}"
    return logging.getLogger(name)
