"""Local Pub/Sub: the gRPC API google-cloud-pubsub uses, plus push delivery to functions.

Importing this package is cheap; grpc and the protos load with `emulators.pubsub.emulator`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulators.pubsub.emulator import PubSubEmulator

__all__ = ["PubSubEmulator"]


def __getattr__(name: str) -> Any:
    if name == "PubSubEmulator":
        from emulators.pubsub.emulator import PubSubEmulator

        return PubSubEmulator
    raise AttributeError(name)
