"""The HTTP request Eventarc sends a Cloud Function (2nd gen) for a Pub/Sub message.

Binary content mode, as Eventarc uses: CloudEvent attributes travel as `ce-*` headers and the
body is the `MessagePublishedData` JSON. The message carries both camelCase and snake_case id and
time keys because Eventarc sends both and firebase_functions.pubsub_fn reads the snake_case ones.
`ce-id` is the Pub/Sub message id, so a redelivered message is recognisable as the same event.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from emulators.pubsub.messages import PublishedMessage, rfc3339_millis
from emulators.pubsub.push_subscriptions import PushSubscription

EVENT_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"


def message_published_data(subscription: str, message: PublishedMessage) -> dict[str, Any]:
    publish_time = rfc3339_millis(message.publish_time)
    body: dict[str, Any] = {
        "data": base64.b64encode(message.data).decode("ascii"),
        "messageId": message.message_id,
        "message_id": message.message_id,
        "publishTime": publish_time,
        "publish_time": publish_time,
    }
    if message.attributes:
        body["attributes"] = dict(message.attributes)
    if message.ordering_key:
        body["orderingKey"] = message.ordering_key
    return {"message": body, "subscription": subscription}


def message_published_request(
    subscription: PushSubscription, message: PublishedMessage, trace_id: str
) -> tuple[dict[str, str], bytes]:
    """Headers and body of the POST delivering `message` to `subscription.url`."""
    headers = {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": message.message_id,
        "ce-type": EVENT_TYPE,
        "ce-source": f"//pubsub.googleapis.com/{message.topic}",
        "ce-time": rfc3339_millis(message.publish_time),
        "X-Cloud-Trace-Context": f"{trace_id}/1;o=1",
        "User-Agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)",
    }
    body = json.dumps(message_published_data(subscription.name, message)).encode()
    return headers, body
