"""The functions manifest (`functions.yaml`, spec v1alpha1) that `firebase deploy` reads.

Pure parsing: the document comes from discovery (discovery.py) and turns into the endpoints the
host serves and wires. Only the fields that change how a function is invoked or triggered are
kept; everything else (memory, instances, ...) matters to deployment, not to local serving.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

SPEC_VERSION = "v1alpha1"
# Cloud Scheduler's default for 2nd gen functions when the decorator gives no time zone
# (firebase-tools lib/gcp/cloudscheduler.js, DEFAULT_TIME_ZONE_V2).
DEFAULT_TIME_ZONE = "UTC"

FIRESTORE_EVENT_PREFIX = "google.cloud.firestore.document.v1."
PUBSUB_EVENT_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"


class ManifestError(ValueError):
    """The manifest cannot be served: wrong spec version or a malformed endpoint."""


class TriggerKind(enum.Enum):
    HTTPS = "https"
    CALLABLE = "callable"
    EVENT = "event"
    SCHEDULE = "schedule"


@dataclasses.dataclass(frozen=True)
class EventTrigger:
    event_type: str
    filters: Mapping[str, str]
    path_patterns: Mapping[str, str]
    retry: bool

    @property
    def is_firestore(self) -> bool:
        return self.event_type.startswith(FIRESTORE_EVENT_PREFIX)

    @property
    def is_pubsub(self) -> bool:
        return self.event_type == PUBSUB_EVENT_TYPE

    @property
    def document(self) -> str | None:
        """The Firestore document pattern (with `{wildcards}`), exact or patterned."""
        return self.path_patterns.get("document") or self.filters.get("document")

    @property
    def database(self) -> str:
        return self.filters.get("database", "(default)")

    @property
    def topic(self) -> str | None:
        return self.filters.get("topic")


@dataclasses.dataclass(frozen=True)
class ScheduleTrigger:
    schedule: str
    time_zone: str
    retry_config: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Endpoint:
    name: str
    entry_point: str
    kind: TriggerKind
    event_trigger: EventTrigger | None = None
    schedule_trigger: ScheduleTrigger | None = None
    regions: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Manifest:
    endpoints: tuple[Endpoint, ...]
    required_apis: tuple[str, ...]

    def endpoint(self, name: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)

    def names(self) -> list[str]:
        return [e.name for e in self.endpoints]


def parse_manifest(document: Mapping[str, Any]) -> Manifest:
    version = document.get("specVersion")
    if version != SPEC_VERSION:
        raise ManifestError(
            f"unsupported manifest specVersion {version!r}; expected {SPEC_VERSION}"
        )
    raw_endpoints = document.get("endpoints") or {}
    endpoints = tuple(_endpoint(name, raw) for name, raw in sorted(raw_endpoints.items()))
    apis = tuple(str(a.get("api")) for a in document.get("requiredAPIs") or [])
    return Manifest(endpoints=endpoints, required_apis=apis)


def _endpoint(name: str, raw: Mapping[str, Any]) -> Endpoint:
    entry_point = str(raw.get("entryPoint") or name)
    regions = tuple(str(r) for r in raw.get("region") or ())
    if "httpsTrigger" in raw:
        return Endpoint(name, entry_point, TriggerKind.HTTPS, regions=regions)
    if "callableTrigger" in raw:
        return Endpoint(name, entry_point, TriggerKind.CALLABLE, regions=regions)
    if "eventTrigger" in raw:
        trigger = raw["eventTrigger"] or {}
        event_type = trigger.get("eventType")
        if not event_type:
            raise ManifestError(f"endpoint {name}: eventTrigger without eventType")
        event = EventTrigger(
            event_type=str(event_type),
            filters={k: str(v) for k, v in (trigger.get("eventFilters") or {}).items()},
            path_patterns={
                k: str(v) for k, v in (trigger.get("eventFilterPathPatterns") or {}).items()
            },
            retry=bool(trigger.get("retry", False)),
        )
        return Endpoint(name, entry_point, TriggerKind.EVENT, event_trigger=event, regions=regions)
    if "scheduleTrigger" in raw:
        trigger = raw["scheduleTrigger"] or {}
        if not trigger.get("schedule"):
            raise ManifestError(f"endpoint {name}: scheduleTrigger without schedule")
        schedule = ScheduleTrigger(
            schedule=str(trigger["schedule"]),
            time_zone=str(trigger.get("timeZone") or DEFAULT_TIME_ZONE),
            retry_config=dict(trigger.get("retryConfig") or {}),
        )
        return Endpoint(
            name, entry_point, TriggerKind.SCHEDULE, schedule_trigger=schedule, regions=regions
        )
    raise ManifestError(f"endpoint {name}: trigger type not supported by the local host")
