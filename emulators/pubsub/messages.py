"""A message as stored by the emulator once published."""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class PublishedMessage:
    topic: str
    message_id: str
    data: bytes
    attributes: dict[str, str]
    ordering_key: str
    publish_time: dt.datetime

    @property
    def project(self) -> str:
        return self.topic.split("/", 2)[1]


def rfc3339_millis(moment: dt.datetime) -> str:
    """UTC timestamp with millisecond precision and a `Z`, as Pub/Sub push bodies carry it.

    Millisecond precision matters: firebase_functions parses publish times with `%f`, which
    accepts at most six fractional digits.
    """
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
