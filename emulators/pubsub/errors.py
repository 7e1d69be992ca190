"""Errors the emulator reports, with the gRPC status the real service would answer with.

Kept free of grpc so the broker stays a plain in-memory model; the gRPC layer maps the codes.
"""

from __future__ import annotations

import enum


class StatusCode(enum.Enum):
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"


class PubSubError(Exception):
    def __init__(self, code: StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
