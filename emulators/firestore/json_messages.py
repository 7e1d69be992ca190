"""Request messages from proto3 JSON (REST bodies, WebChannel messages) and responses to it."""

from __future__ import annotations

import json
from typing import Any

import grpc
from google.protobuf import json_format

from emulators.firestore.errors import EmulatorError
from emulators.firestore.writes import set_verify


def parse_request(text: str | bytes, request_class: Any) -> Any:
    """``request_class`` from JSON; unknown fields are ignored, bad JSON is INVALID_ARGUMENT.

    ``writes[].verify`` is carried over although the message class lacks it (see writes.py).
    """
    try:
        data = json.loads(text or "{}")
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        verifies: dict[int, str] = {}
        writes = data.get("writes")
        if isinstance(writes, list):
            for index, write in enumerate(writes):
                if isinstance(write, dict) and isinstance(write.get("verify"), str):
                    verifies[index] = write.pop("verify")
        request = json_format.ParseDict(data, request_class(), ignore_unknown_fields=True)
    except (ValueError, RecursionError, json_format.ParseError) as exc:
        raise EmulatorError(
            grpc.StatusCode.INVALID_ARGUMENT, f"Invalid JSON payload received: {exc}"
        ) from None
    for index, name in verifies.items():
        set_verify(request.writes[index], name)
    return request


def to_json(message: Any) -> dict[str, Any]:
    return dict(json_format.MessageToDict(message))
