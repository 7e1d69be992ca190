"""Push subscriptions as the functions host declares them (Eventarc triggers of Pub/Sub)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from emulators.pubsub.errors import PubSubError, StatusCode
from emulators.pubsub.names import check_subscription, check_topic, subscription_path, topic_path


@dataclasses.dataclass(frozen=True)
class PushSubscription:
    name: str  # projects/{p}/subscriptions/{id}
    topic: str  # projects/{p}/topics/{id}
    url: str
    retry: bool

    @classmethod
    def from_dict(cls, project: str, spec: Mapping[str, Any]) -> PushSubscription:
        """Accepts `{"name", "topic", "url", "retry"}`; names may be short ids or full paths."""
        try:
            name = subscription_path(project, str(spec["name"]))
            topic = topic_path(project, str(spec["topic"]))
            url = str(spec["url"])
        except KeyError as missing:
            raise PubSubError(
                StatusCode.INVALID_ARGUMENT, f"push subscription lacks {missing}"
            ) from None
        if check_subscription(name) != project or check_topic(topic) != project:
            raise PubSubError(
                StatusCode.INVALID_ARGUMENT,
                f"push subscription {name} on {topic} is not in project {project}",
            )
        if not url.startswith(("http://", "https://")):
            raise PubSubError(StatusCode.INVALID_ARGUMENT, f"push url is not http(s): {url}")
        return cls(name=name, topic=topic, url=url, retry=bool(spec.get("retry", False)))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "topic": self.topic, "url": self.url, "retry": self.retry}
