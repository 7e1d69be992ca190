"""Pub/Sub resource names: `projects/{project}/topics/{id}` and `.../subscriptions/{id}`."""

from __future__ import annotations

import re

from emulators.pubsub.errors import PubSubError, StatusCode

# Same id rule as the real service: starts with a letter, 3..255 chars of [A-Za-z0-9-_.~+%],
# and not starting with "goog".
_ID = r"(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}"
_TOPIC = re.compile(rf"^projects/(?P<project>[^/]+)/topics/(?P<id>{_ID})$")
_SUBSCRIPTION = re.compile(rf"^projects/(?P<project>[^/]+)/subscriptions/(?P<id>{_ID})$")
_PROJECT = re.compile(r"^projects/(?P<project>[^/]+)$")


def topic_path(project: str, topic: str) -> str:
    """Full topic name from a short id, or the name itself when it is already full."""
    return topic if topic.startswith("projects/") else f"projects/{project}/topics/{topic}"


def subscription_path(project: str, subscription: str) -> str:
    """Full subscription name from a short id, or the name itself when it is already full."""
    if subscription.startswith("projects/"):
        return subscription
    return f"projects/{project}/subscriptions/{subscription}"


def check_topic(name: str) -> str:
    """Raises INVALID_ARGUMENT unless `name` is a well-formed topic name; returns its project."""
    match = _TOPIC.match(name)
    if match is None:
        raise PubSubError(StatusCode.INVALID_ARGUMENT, f"Invalid [topics] name: ({name})")
    return match["project"]


def check_subscription(name: str) -> str:
    """Raises INVALID_ARGUMENT unless `name` is a well-formed subscription name."""
    match = _SUBSCRIPTION.match(name)
    if match is None:
        raise PubSubError(StatusCode.INVALID_ARGUMENT, f"Invalid [subscriptions] name: ({name})")
    return match["project"]


def check_project(name: str) -> str:
    """Raises INVALID_ARGUMENT unless `name` is `projects/{project}`; returns the project id."""
    match = _PROJECT.match(name)
    if match is None:
        raise PubSubError(StatusCode.INVALID_ARGUMENT, f"Invalid [projects] name: ({name})")
    return match["project"]


def project_of(name: str) -> str:
    """Project id of any resource name under `projects/{project}/`."""
    return name.split("/", 2)[1]
