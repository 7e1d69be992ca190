"""Log lines are JSON with severity, and carry the request's trace and request id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from aide.structured_logging import (
    TRACE_KEY,
    bind_request_context,
    configure_logging,
    get_logger,
    new_request_context,
    parse_trace_header,
)


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging(stream=buffer, level="DEBUG")
    yield buffer
    configure_logging()


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_each_record_is_one_json_line_with_severity(stream: io.StringIO) -> None:
    log = get_logger("aide.test")
    log.debug("d")
    log.info("hello %s", "world", extra={"fields": {"taskId": "t1"}})
    log.warning("w")
    log.error("e")
    lines = _lines(stream)
    assert [line["severity"] for line in lines] == ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert lines[1]["message"] == "hello world"
    assert lines[1]["taskId"] == "t1"
    assert str(lines[1]["time"]).endswith("Z")
    assert TRACE_KEY not in lines[1]


def test_trace_and_request_id_from_the_request(stream: io.StringIO) -> None:
    context = new_request_context(
        trace_header="105445aa7843bc8bf206b12000100000/1;o=1",
        request_id="req-42",
        project="demo-aide",
    )
    with bind_request_context(context):
        get_logger("aide.test").info("inside")
    get_logger("aide.test").info("outside")
    inside, outside = _lines(stream)
    assert inside[TRACE_KEY] == "projects/demo-aide/traces/105445aa7843bc8bf206b12000100000"
    assert inside["logging.googleapis.com/spanId"] == "1"
    assert inside["logging.googleapis.com/trace_sampled"] is True
    assert inside["requestId"] == "req-42"
    assert "requestId" not in outside and TRACE_KEY not in outside


def test_exceptions_keep_their_stack_in_the_message(stream: io.StringIO) -> None:
    try:
        raise ValueError("kaput")
    except ValueError:
        get_logger("aide.test").exception("failed")
    (line,) = _lines(stream)
    assert line["severity"] == "ERROR"
    assert "Traceback" in str(line["message"]) and "kaput" in str(line["message"])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("abc123/42;o=1", ("abc123", "42", True)),
        ("ABC123", ("abc123", None, False)),
        ("abc123/7;o=0", ("abc123", "7", False)),
        ("not a trace", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_trace_header(header: str | None, expected: object) -> None:
    assert parse_trace_header(header) == expected


def test_a_request_id_is_made_up_when_absent() -> None:
    first = new_request_context(trace_header=None, request_id=None, project=None)
    second = new_request_context(trace_header=None, request_id=None, project=None)
    assert first.request_id and first.request_id != second.request_id
    assert first.trace is None


def test_loggers_outside_the_package_are_placed_under_it() -> None:
    assert get_logger("elsewhere").name == "aide.elsewhere"
    assert logging.getLogger("aide").propagate is False
