"""The GraphQL gateway: a schema built from the pydantic models (types_from_models) and the
operations' SDL (operations.graphql), resolvers that call the same services as the REST functions,
batched loaders, depth/complexity limits, and subscriptions over server-sent events.

The HTTP function is aide.entrypoints.graphql_http; nothing here is imported at cold start.
"""
