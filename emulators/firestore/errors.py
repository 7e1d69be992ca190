"""The one error type the emulator raises; the gRPC layer turns it into a status."""

from __future__ import annotations

import grpc


class EmulatorError(Exception):
    """A request Firestore would refuse, with the status code Firestore would use."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
