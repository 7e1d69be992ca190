"""gRPC surface: google.pubsub.v1.Publisher and the pull part of google.pubsub.v1.Subscriber."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import grpc

from emulators.pubsub import protos
from emulators.pubsub.broker import Broker
from emulators.pubsub.errors import PubSubError, StatusCode
from emulators.pubsub.names import check_project, check_subscription

# A unary Pull with nothing to return waits this long for a message before answering empty,
# like the real service's long poll (which the client bounds with its own deadline).
PULL_WAIT_SECONDS = 2.0
STREAM_DEADLINE_SECONDS = 10
STREAM_MAX_MESSAGES = 1000

_GRPC_CODES = {
    StatusCode.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    StatusCode.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    StatusCode.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    StatusCode.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
}

Handler = TypeVar("Handler", bound=Callable[..., Any])


def _grpc_errors(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def translated(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return handler(self, request, context)
        except PubSubError as error:
            context.abort(_GRPC_CODES[error.code], error.message)

    return translated  # type: ignore[return-value]


def _page(items: Sequence[Any], page_size: int, page_token: str) -> tuple[Sequence[Any], str]:
    """Offset pagination; the token is the offset of the next page."""
    try:
        start = int(page_token) if page_token else 0
    except ValueError:
        raise PubSubError(StatusCode.INVALID_ARGUMENT, "Invalid page token") from None
    if page_size <= 0:
        return items[start:], ""
    end = start + page_size
    return items[start:end], str(end) if end < len(items) else ""


class PublisherService:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    @_grpc_errors
    def create_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._broker.create_topic(request)

    @_grpc_errors
    def update_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._broker.update_topic(request.topic, list(request.update_mask.paths))

    @_grpc_errors
    def get_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._broker.get_topic(request.topic)

    @_grpc_errors
    def list_topics(self, request: Any, context: grpc.ServicerContext) -> Any:
        topics = self._broker.list_topics(check_project(request.project))
        page, token = _page(topics, request.page_size, request.page_token)
        return protos.ListTopicsResponse(topics=page, next_page_token=token)

    @_grpc_errors
    def list_topic_subscriptions(self, request: Any, context: grpc.ServicerContext) -> Any:
        names = self._broker.topic_subscriptions(request.topic)
        page, token = _page(names, request.page_size, request.page_token)
        return protos.ListTopicSubscriptionsResponse(subscriptions=page, next_page_token=token)

    @_grpc_errors
    def delete_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._broker.delete_topic(request.topic)
        return protos.Empty()

    @_grpc_errors
    def publish(self, request: Any, context: grpc.ServicerContext) -> Any:
        ids = self._broker.publish(request.topic, request.messages)
        return protos.PublishResponse(message_ids=ids)

    def handler(self) -> grpc.GenericRpcHandler:
        unary = _unary_handlers(
            {
                "CreateTopic": (self.create_topic, protos.Topic, protos.Topic),
                "UpdateTopic": (self.update_topic, protos.UpdateTopicRequest, protos.Topic),
                "GetTopic": (self.get_topic, protos.GetTopicRequest, protos.Topic),
                "ListTopics": (
                    self.list_topics,
                    protos.ListTopicsRequest,
                    protos.ListTopicsResponse,
                ),
                "ListTopicSubscriptions": (
                    self.list_topic_subscriptions,
                    protos.ListTopicSubscriptionsRequest,
                    protos.ListTopicSubscriptionsResponse,
                ),
                "DeleteTopic": (self.delete_topic, protos.DeleteTopicRequest, protos.Empty),
                "Publish": (self.publish, protos.PublishRequest, protos.PublishResponse),
            }
        )
        return grpc.method_handlers_generic_handler("google.pubsub.v1.Publisher", unary)


class SubscriberService:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._shutting_down = threading.Event()

    def close_streams(self) -> None:
        """Ends open StreamingPulls with UNAVAILABLE, as a server going away does."""
        self._shutting_down.set()
        self._broker.wake()

    @_grpc_errors
    def create_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._broker.create_subscription(request)

    @_grpc_errors
    def get_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._broker.get_subscription(request.subscription)

    @_grpc_errors
    def list_subscriptions(self, request: Any, context: grpc.ServicerContext) -> Any:
        subscriptions = self._broker.list_subscriptions(check_project(request.project))
        page, token = _page(subscriptions, request.page_size, request.page_token)
        return protos.ListSubscriptionsResponse(subscriptions=page, next_page_token=token)

    @_grpc_errors
    def delete_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._broker.delete_subscription(request.subscription)
        return protos.Empty()

    @_grpc_errors
    def pull(self, request: Any, context: grpc.ServicerContext) -> Any:
        wait = 0.0 if request.return_immediately else PULL_WAIT_SECONDS
        remaining = context.time_remaining()
        if remaining is not None:
            wait = min(wait, max(remaining - 0.5, 0.0))
        received = self._broker.pull(
            request.subscription,
            request.max_messages,
            wait,
            cancelled=lambda: not context.is_active(),
        )
        return protos.PullResponse(received_messages=received)

    @_grpc_errors
    def acknowledge(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._broker.acknowledge(request.subscription, request.ack_ids)
        return protos.Empty()

    @_grpc_errors
    def modify_ack_deadline(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._broker.modify_ack_deadline(
            request.subscription, request.ack_ids, request.ack_deadline_seconds
        )
        return protos.Empty()

    def streaming_pull(
        self, requests: Iterator[Any], context: grpc.ServicerContext
    ) -> Iterator[Any]:
        try:
            first = next(requests)
        except StopIteration:
            return
        subscription = first.subscription
        try:
            check_subscription(subscription)
            self._broker.get_subscription(subscription)
            self._apply(subscription, first)
        except PubSubError as error:
            context.abort(_GRPC_CODES[error.code], error.message)
        deadline = first.stream_ack_deadline_seconds or STREAM_DEADLINE_SECONDS
        closed = threading.Event()

        def close() -> None:
            closed.set()
            self._broker.wake()

        context.add_callback(close)
        # Acks and deadline changes arrive on the request stream while responses are pending.
        threading.Thread(
            target=self._consume, args=(subscription, requests, close), daemon=True
        ).start()

        def ended() -> bool:
            return closed.is_set() or self._shutting_down.is_set()

        while not ended():
            try:
                received = self._broker.pull(
                    subscription,
                    STREAM_MAX_MESSAGES,
                    wait_seconds=30.0,
                    ack_deadline_seconds=deadline,
                    cancelled=ended,
                )
            except PubSubError as error:
                context.abort(_GRPC_CODES[error.code], error.message)
            if received:
                yield protos.StreamingPullResponse(received_messages=received)
        if self._shutting_down.is_set():
            context.abort(grpc.StatusCode.UNAVAILABLE, "The emulator is shutting down")

    def _consume(
        self, subscription: str, requests: Iterator[Any], close: Callable[[], None]
    ) -> None:
        try:
            for request in requests:
                self._apply(subscription, request)
        except (grpc.RpcError, PubSubError, ValueError):
            pass  # the stream ended or the subscription went away; the puller notices
        finally:
            close()

    def _apply(self, subscription: str, request: Any) -> None:
        if request.ack_ids:
            self._broker.acknowledge(subscription, request.ack_ids)
        for ack_id, seconds in zip(
            request.modify_deadline_ack_ids, request.modify_deadline_seconds, strict=False
        ):
            self._broker.modify_ack_deadline(subscription, [ack_id], seconds)

    def handler(self) -> grpc.GenericRpcHandler:
        handlers = _unary_handlers(
            {
                "CreateSubscription": (
                    self.create_subscription,
                    protos.Subscription,
                    protos.Subscription,
                ),
                "GetSubscription": (
                    self.get_subscription,
                    protos.GetSubscriptionRequest,
                    protos.Subscription,
                ),
                "ListSubscriptions": (
                    self.list_subscriptions,
                    protos.ListSubscriptionsRequest,
                    protos.ListSubscriptionsResponse,
                ),
                "DeleteSubscription": (
                    self.delete_subscription,
                    protos.DeleteSubscriptionRequest,
                    protos.Empty,
                ),
                "Pull": (self.pull, protos.PullRequest, protos.PullResponse),
                "Acknowledge": (self.acknowledge, protos.AcknowledgeRequest, protos.Empty),
                "ModifyAckDeadline": (
                    self.modify_ack_deadline,
                    protos.ModifyAckDeadlineRequest,
                    protos.Empty,
                ),
            }
        )
        handlers["StreamingPull"] = grpc.stream_stream_rpc_method_handler(
            self.streaming_pull,
            request_deserializer=protos.StreamingPullRequest.FromString,
            response_serializer=protos.StreamingPullResponse.SerializeToString,
        )
        return grpc.method_handlers_generic_handler("google.pubsub.v1.Subscriber", handlers)


def _unary_handlers(
    methods: dict[str, tuple[Callable[[Any, grpc.ServicerContext], Any], Any, Any]],
) -> dict[str, grpc.RpcMethodHandler]:
    return {
        name: grpc.unary_unary_rpc_method_handler(
            behaviour,
            request_deserializer=request_type.FromString,
            response_serializer=response_type.SerializeToString,
        )
        for name, (behaviour, request_type, response_type) in methods.items()
    }
