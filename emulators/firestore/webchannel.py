"""WebChannel (wire version 8): how the Firebase JS SDK in a browser runs Listen and Write.

A WebChannel session emulates one bidirectional stream over plain HTTP/1.1 requests:

* **Handshake**: ``POST .../{Listen|Write}/channel?VER=8&RID=n&database=...`` whose form body
  carries ``headers=`` (the SDK's init headers, ``Authorization`` among them, as
  ``Name:value\\r\\n`` lines) and the first messages (``count``, ``ofs``,
  ``req{i}___data__=<JSON>``). The answer is array 0, ``["c", SID, "", 8, 14, keepalive_ms]``
  (twice the noop interval), and an ``X-HTTP-Session-Id`` header.
* **Forward channel**: ``POST ...?SID=..&RID=n&AID=k`` with more messages, numbered by map id
  (``ofs`` + i; a retried POST's maps already seen are ignored). Answer:
  ``[1, last array id queued, outstanding bytes]``.
* **Back channel**: ``GET ...?SID=..&RID=rpc&AID=k&CI=0|1&TYPE=xmlhttp``: the server's messages
  as numbered arrays ``[[id, [message]], ...]``. ``AID`` acknowledges every array up to ``k``;
  unacknowledged arrays are sent again on the next back channel, so nothing is lost when one
  breaks. ``CI=0`` streams (the response stays open, a ``["noop"]`` every keepalive interval,
  and closes after ``max_backchannel_s`` so the client opens a fresh one); ``CI=1`` long-polls
  (the response ends as soon as it carries something, or with a noop after the interval).
* **Terminate**: ``TYPE=terminate`` ends the session. A session with no back channel and no
  forward request for ``session_timeout_s`` expires; an unknown or expired ``SID`` gets 400
  ``Unknown SID``, on which the SDK opens a new stream.

Every response body is a sequence of chunks, each the decimal length of a JSON text (in UTF-16
code units; the JSON here is ASCII) and a newline, then the text.

Listen sessions run the emulator's Listen engine and Write sessions ``WriteStream``, with the
caller taken from the handshake's ``Authorization`` header: rules, costs, index enforcement
and triggers apply exactly as for gRPC. An error is sent as ``[{"error": {"code", "message",
"status"}}]`` and ends the stream, as Firestore does.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import grpc

from emulators.firestore.call_context import HttpCallContext
from emulators.firestore.errors import EmulatorError
from emulators.firestore.http_status import error_body
from emulators.firestore.json_messages import parse_request, to_json
from emulators.firestore.protos import ListenRequest, WriteRequest
from emulators.firestore.write_stream import WriteStream

WIRE_VERSION = 8
_MESSAGE_KEY = re.compile(r"^req(\d{1,6})___data__$")
SERVER_VERSION = 14


@dataclass(frozen=True)
class ChannelTimings:
    """How long things wait; tests shorten them."""

    noop_interval_s: float = 30.0  # keepalive announced in the handshake; noops this often
    session_timeout_s: float = 60.0  # a session nobody polls is dropped after this
    max_backchannel_s: float = 240.0  # a streaming back channel is recycled after this


class UnknownSession(Exception):
    """The SID is not (or no longer) a live session."""


def encode_chunk(text: str) -> bytes:
    data = text.encode("ascii")
    return str(len(data)).encode() + b"\n" + data


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def parse_headers_param(encoded: str) -> dict[str, str]:
    """``Name:value\\r\\n`` lines (already URL-decoded) into a header dict."""
    headers: dict[str, str] = {}
    for line in encoded.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers[name.strip().lower()] = value.strip()
    return headers


def parse_forward_body(body: str) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """(init headers, [(map id, JSON text)]) of a forward-channel form body."""
    form = {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}
    headers = parse_headers_param(form["headers"]) if "headers" in form else {}
    try:
        offset = int(form.get("ofs", "0"))
    except ValueError:
        raise EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, "Bad WebChannel framing") from None
    messages = []
    for key, data in form.items():
        match = _MESSAGE_KEY.match(key)
        if match is not None:
            messages.append((offset + int(match.group(1)), data))
    return headers, sorted(messages)


class ChannelSession:
    """One stream's state: the numbered outgoing arrays and who is reading them."""

    def __init__(self, sid: str, rpc: str, timings: ChannelTimings) -> None:
        self.sid = sid
        self.rpc = rpc
        self.timings = timings
        self.cond = threading.Condition()
        self._arrays: list[tuple[int, str]] = []  # (array id, JSON of [id, payload]), unacked
        self._next_array_id = 1
        self._backchannel_generation = 0
        self._backchannel_attached = False
        self.last_activity = time.monotonic()
        self.last_map_id = -1
        self.closed = False  # no more messages will be queued
        self.terminated = False  # the client ended the session, or it expired
        self.backchannel_modes: list[str] = []  # "streaming" / "long-polling", for tests
        self.on_terminate: Callable[[], None] = lambda: None

    # ------------------------------------------------------------------ outgoing
    def _queue(self, payload: Any) -> None:
        array_id = self._next_array_id
        self._next_array_id += 1
        self._arrays.append((array_id, _dumps([array_id, payload])))
        self.cond.notify_all()

    def push(self, message: dict[str, Any]) -> None:
        with self.cond:
            if not self.closed:
                self._queue([message])

    def push_error(self, exc: EmulatorError) -> None:
        with self.cond:
            if not self.closed:
                self._queue([error_body(exc.code, exc.message)])
            self.closed = True
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    @property
    def last_array_id(self) -> int:
        return self._next_array_id - 1

    def outstanding_bytes(self) -> int:
        with self.cond:
            return sum(len(text) for _, text in self._arrays)

    def acknowledge(self, aid: int) -> None:
        with self.cond:
            self._ack(aid)

    def _ack(self, aid: int) -> None:
        self._arrays = [(i, text) for i, text in self._arrays if i > aid]

    def touch(self) -> None:
        with self.cond:
            self.last_activity = time.monotonic()

    def idle_for(self, now: float) -> float:
        with self.cond:
            if self._backchannel_attached:
                return 0.0
            return now - self.last_activity

    # ------------------------------------------------------------------ back channel
    def backchannel(self, aid: int, streaming: bool, timeout_ms: int | None) -> Iterator[bytes]:
        """The chunks of one back-channel response; the caller writes them as they come."""
        with self.cond:
            self._ack(aid)
            self._backchannel_generation += 1
            generation = self._backchannel_generation
            self._backchannel_attached = True
            self.last_activity = time.monotonic()
            self.backchannel_modes.append("streaming" if streaming else "long-polling")
            self.cond.notify_all()  # a back channel this one replaces ends
        # Arrays the client has not acknowledged are sent again (a back channel can break).
        sent_upto = aid
        try:
            interval = self.timings.noop_interval_s
            if not streaming and timeout_ms:
                interval = min(interval, timeout_ms / 1000)
            ends_at = time.monotonic() + (self.timings.max_backchannel_s if streaming else interval)
            first = True
            while True:
                with self.cond:
                    noop_at = time.monotonic() + (0.0 if first and streaming else interval)
                    while True:
                        if self._backchannel_generation != generation or self.terminated:
                            return
                        fresh = [text for i, text in self._arrays if i > sent_upto]
                        now = time.monotonic()
                        if fresh or (self.closed and not fresh) or now >= min(noop_at, ends_at):
                            break
                        self.cond.wait(min(noop_at, ends_at) - now)
                    if not fresh:
                        if self.closed:
                            self._queue(["close"])
                        else:
                            self._queue(["noop"])
                        fresh = [text for i, text in self._arrays if i > sent_upto]
                    sent_upto = self.last_array_id
                    finished = self.closed or not streaming or time.monotonic() >= ends_at
                first = False
                yield encode_chunk("[" + ",".join(fresh) + "]")
                if finished:
                    return
        finally:
            with self.cond:
                if self._backchannel_generation == generation:
                    self._backchannel_attached = False
                    self.last_activity = time.monotonic()


class _ListenEngine:
    """Runs the service's Listen stream for a session on a thread of its own."""

    def __init__(self, service: Any, session: ChannelSession, context: HttpCallContext) -> None:
        self._requests: queue.Queue[Any] = queue.Queue()
        self._session = session
        self._context = context
        self._responses = service.listen(self._iterate(), context)
        threading.Thread(target=self._run, name="webchannel-listen", daemon=True).start()

    def _iterate(self) -> Iterator[Any]:
        while True:
            item = self._requests.get()
            if item is None:
                return
            yield item

    def _run(self) -> None:
        try:
            for response in self._responses:
                self._session.push(to_json(response))
        except EmulatorError as exc:
            self._session.push_error(exc)
        except Exception as exc:  # a bug: tell the client rather than hang it
            self._session.push_error(EmulatorError(grpc.StatusCode.INTERNAL, str(exc)))
        finally:
            self._session.close()

    def send(self, text: str) -> None:
        request = parse_request(text, ListenRequest)
        self._requests.put(request)

    def stop(self) -> None:
        self._requests.put(None)
        self._context.end()


class _WriteEngine:
    """Answers Write messages in order, inline on the forward request's thread."""

    def __init__(self, service: Any, session: ChannelSession, context: HttpCallContext) -> None:
        self._session = session
        self._stream = WriteStream(service, service.rules.caller(context))
        self._lock = threading.Lock()

    def send(self, text: str) -> None:
        request = parse_request(text, WriteRequest)
        with self._lock:
            if self._session.closed:
                return
            try:
                response = self._stream.handle(request)
            except EmulatorError as exc:
                self._session.push_error(exc)
                return
            self._session.push(to_json(response))

    def stop(self) -> None:
        pass


class ChannelRegistry:
    """Every live WebChannel session of one emulator."""

    def __init__(self, service: Any, timings: ChannelTimings | None = None) -> None:
        self._service = service
        self.timings = timings or ChannelTimings()
        self._lock = threading.Lock()
        self._sessions: dict[str, ChannelSession] = {}
        self._engines: dict[str, _ListenEngine | _WriteEngine] = {}
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="webchannel-reaper", daemon=True)
        self._reaper.start()

    def sessions(self) -> list[ChannelSession]:
        with self._lock:
            return list(self._sessions.values())

    def get(self, sid: str) -> ChannelSession:
        with self._lock:
            session = self._sessions.get(sid)
        if session is None or session.terminated:
            raise UnknownSession(sid)
        return session

    def handshake(self, rpc: str, body: str) -> tuple[ChannelSession, str]:
        """A new session; returns it and the handshake response body."""
        headers, messages = parse_forward_body(body)
        sid = secrets.token_urlsafe(18)
        session = ChannelSession(sid, rpc, self.timings)
        context = HttpCallContext(headers)
        engine: _ListenEngine | _WriteEngine
        if rpc == "Listen":
            engine = _ListenEngine(self._service, session, context)
        else:
            engine = _WriteEngine(self._service, session, context)
        session.on_terminate = engine.stop
        with self._lock:
            self._sessions[sid] = session
            self._engines[sid] = engine
        # The SDK gives up on a back channel silent for 1.5x the announced keepalive; announcing
        # twice the noop interval leaves it three intervals, so a busy machine delaying one noop
        # does not cost a reconnect.
        keepalive_ms = int(self.timings.noop_interval_s * 2000)
        handshake = _dumps([[0, ["c", sid, "", WIRE_VERSION, SERVER_VERSION, keepalive_ms]]])
        self._deliver(session, engine, messages)
        return session, handshake

    def forward(self, sid: str, body: str, aid: int | None = None) -> str:
        """Deliver a forward request's messages; ``aid`` (the last array the client has)
        acknowledges what the back channel delivered, so a long-lived streaming back channel
        does not keep every message it sent."""
        session = self.get(sid)
        session.touch()
        if aid is not None:
            session.acknowledge(aid)
        with self._lock:
            engine = self._engines[sid]
        _, messages = parse_forward_body(body)
        self._deliver(session, engine, messages)
        with session.cond:
            last = session.last_array_id
        return _dumps([1, last, session.outstanding_bytes()])

    def _deliver(
        self,
        session: ChannelSession,
        engine: _ListenEngine | _WriteEngine,
        messages: list[tuple[int, str]],
    ) -> None:
        for map_id, text in messages:
            with session.cond:
                if map_id <= session.last_map_id:
                    continue  # a retried forward request: already delivered
                session.last_map_id = map_id
            try:
                engine.send(text)
            except EmulatorError as exc:  # a message that is not the RPC's request
                session.push_error(exc)

    def terminate(self, sid: str) -> None:
        with self._lock:
            session = self._sessions.pop(sid, None)
            self._engines.pop(sid, None)
        if session is None:
            return
        with session.cond:
            session.terminated = True
            session.closed = True
            session.cond.notify_all()
        session.on_terminate()

    def _reap(self) -> None:
        while not self._stop.wait(min(1.0, self.timings.session_timeout_s / 4)):
            now = time.monotonic()
            for session in self.sessions():
                if session.idle_for(now) > self.timings.session_timeout_s:
                    self.terminate(session.sid)

    def stop(self) -> None:
        self._stop.set()
        for session in self.sessions():
            self.terminate(session.sid)
        with contextlib.suppress(RuntimeError):
            self._reaper.join(timeout=5)
