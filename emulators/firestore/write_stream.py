"""The ``Write`` stream the client SDKs use for their mutations (gRPC in Node, WebChannel in
browsers): a handshake, then one atomic commit per request, each answered with a new stream
token.

The first request names the database and carries no writes; the answer gives the stream id and
the first token. Every later request echoes the last token it received (Firestore uses it to
acknowledge responses; a stale or unknown token is INVALID_ARGUMENT) and carries one batch of
writes, applied through the same commit path as ``Commit`` — rules, costs, triggers and
listeners alike. An error ends the stream, as in Firestore.
"""

from __future__ import annotations

import secrets
from typing import Any

import grpc

from emulators.firestore import clock
from emulators.firestore.errors import EmulatorError
from emulators.firestore.paths import parse_database
from emulators.firestore.protos import WriteResponse
from emulators.firestore.rules.auth import Caller


class WriteStream:
    """One client's Write stream; ``handle`` answers each request in order."""

    def __init__(self, service: Any, caller: Caller) -> None:
        self._service = service
        self._caller = caller
        self._database: str | None = None
        self._stream_id = secrets.token_hex(8)
        self._sequence = 0
        self._token = b""

    def _next_token(self) -> bytes:
        self._sequence += 1
        self._token = self._stream_id.encode() + self._sequence.to_bytes(8, "big")
        return self._token

    def handle(self, request: Any) -> Any:
        if self._database is None:
            if not request.database:
                raise EmulatorError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "The first Write request must name a database.",
                )
            parse_database(request.database)
            if len(request.writes):
                raise EmulatorError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "The first Write request is a handshake and must not carry writes.",
                )
            self._database = request.database
            response = WriteResponse(stream_id=self._stream_id, stream_token=self._next_token())
            clock.set_timestamp(response.commit_time, clock.now_micros())
            return response
        if request.database and request.database != self._database:
            raise EmulatorError(
                grpc.StatusCode.INVALID_ARGUMENT, "A Write stream serves a single database."
            )
        if request.stream_token and request.stream_token != self._token:
            raise EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, "Invalid stream token.")
        db = self._service.store.database(parse_database(self._database))
        micros, results = self._service.commit_writes(db, request.writes, caller=self._caller)
        response = WriteResponse(stream_token=self._next_token())
        response.write_results.extend(results)
        clock.set_timestamp(response.commit_time, micros)
        return response
