"""Raw protobuf classes of google.pubsub.v1, taken from the protos google-cloud-pubsub ships.

Raw messages (not the proto-plus wrappers) are what gRPC (de)serialises, and they are cheap.
"""

from __future__ import annotations

from google.protobuf import empty_pb2
from google.pubsub_v1.types import pubsub

Empty = empty_pb2.Empty

Topic = pubsub.Topic.pb()
PubsubMessage = pubsub.PubsubMessage.pb()
GetTopicRequest = pubsub.GetTopicRequest.pb()
UpdateTopicRequest = pubsub.UpdateTopicRequest.pb()
PublishRequest = pubsub.PublishRequest.pb()
PublishResponse = pubsub.PublishResponse.pb()
ListTopicsRequest = pubsub.ListTopicsRequest.pb()
ListTopicsResponse = pubsub.ListTopicsResponse.pb()
ListTopicSubscriptionsRequest = pubsub.ListTopicSubscriptionsRequest.pb()
ListTopicSubscriptionsResponse = pubsub.ListTopicSubscriptionsResponse.pb()
DeleteTopicRequest = pubsub.DeleteTopicRequest.pb()

Subscription = pubsub.Subscription.pb()
PushConfig = pubsub.PushConfig.pb()
GetSubscriptionRequest = pubsub.GetSubscriptionRequest.pb()
ListSubscriptionsRequest = pubsub.ListSubscriptionsRequest.pb()
ListSubscriptionsResponse = pubsub.ListSubscriptionsResponse.pb()
DeleteSubscriptionRequest = pubsub.DeleteSubscriptionRequest.pb()
PullRequest = pubsub.PullRequest.pb()
PullResponse = pubsub.PullResponse.pb()
ReceivedMessage = pubsub.ReceivedMessage.pb()
AcknowledgeRequest = pubsub.AcknowledgeRequest.pb()
ModifyAckDeadlineRequest = pubsub.ModifyAckDeadlineRequest.pb()
StreamingPullRequest = pubsub.StreamingPullRequest.pb()
StreamingPullResponse = pubsub.StreamingPullResponse.pb()
