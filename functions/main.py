"""Cloud Functions entry points. Kept thin: each declared function hands over to aide.entrypoints.

Deploy discovery imports this module to build the functions manifest, so nothing here touches the
network or needs credentials; Google clients are created lazily on first use.

Each function imports its entry point module inside its body: on Cloud Functions (2nd gen) every
function runs in its own service, so an instance loads only the code of the function it serves,
and importing this module (deploy discovery, every cold start) stays close to the cost of
firebase_functions itself (benchmarks/cold_start). New functions follow the same pattern.
"""

from firebase_functions import firestore_fn, https_fn, options, pubsub_fn, scheduler_fn

from aide import config
from aide.domain import collections, task_worker, topics

options.set_global_options(region=config.REGION)


@https_fn.on_request()
def health(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import health as health_entry

    return health_entry.serve(request)


@https_fn.on_request()
def probes(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import probes as probes_entry

    return probes_entry.serve(request)


@firestore_fn.on_document_created(document=f"{collections.PROBES}/{{probeId}}")
def on_probe_created(event: firestore_fn.Event[firestore_fn.DocumentSnapshot | None]) -> None:
    from aide.entrypoints import probes as probes_entry

    probes_entry.on_created(event.id, event.params["probeId"])


@pubsub_fn.on_message_published(topic=topics.PROBES, retry=True)
def on_probe_message(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    from aide.entrypoints import probes as probes_entry

    message = event.data.message
    probes_entry.on_message(message.message_id, message.data)


@scheduler_fn.on_schedule(schedule="every 60 minutes")
def purge_expired(event: scheduler_fn.ScheduledEvent) -> None:
    from aide.entrypoints import maintenance

    maintenance.run_purge_expired()


@https_fn.on_request()
def agents(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import agents as agents_entry

    return agents_entry.serve(request)


@https_fn.on_request()
def users(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import users as users_entry

    return users_entry.serve(request)


@https_fn.on_request()
def api_keys(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import api_keys as api_keys_entry

    return api_keys_entry.serve(request)


@https_fn.on_request()
def projects(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import projects as projects_entry

    return projects_entry.serve(request)


# GET /tasks/{id}/context runs the knowledge search, whose hosted embedder reads the Gemini key.
@https_fn.on_request(secrets=[config.GEMINI_API_KEY])
def tasks(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import tasks as tasks_entry

    return tasks_entry.serve(request)


@https_fn.on_request()
def task_groups(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import task_groups as task_groups_entry

    return task_groups_entry.serve(request)


@https_fn.on_request()
def graphql(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import graphql_http

    return graphql_http.serve(request)


# GET /dashboard/events streams for up to AIDE_STREAM_WINDOW_S (50 s), inside the 60 s default
# timeout and Hosting's 60 s cut (aide.entrypoints.event_stream).
@https_fn.on_request()
def dashboard(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import dashboard as dashboard_entry

    return dashboard_entry.serve(request)


@firestore_fn.on_document_created(document=f"{collections.TASK_DISPATCHES}/{{dispatchId}}")
def on_task_dispatch_created(
    event: firestore_fn.Event[firestore_fn.DocumentSnapshot | None],
) -> None:
    from aide.entrypoints import task_dispatch as task_dispatch_entry

    task_dispatch_entry.on_dispatch_created(event.id, event.params["dispatchId"])


@scheduler_fn.on_schedule(schedule="every 5 minutes")
def sweep_task_dispatches(event: scheduler_fn.ScheduledEvent) -> None:
    from aide.entrypoints import task_dispatch as task_dispatch_entry

    # The schedule time is the sweep's "now": a late run sweeps no more than an on-time one.
    task_dispatch_entry.sweep_stale_dispatches(event.schedule_time)


# Runs take as long as their agent's steps: allow up to the 2nd-gen event-function maximum.
# Binds the provider keys its agents' models (and the task-context knowledge search) read.
@pubsub_fn.on_message_published(
    topic=topics.TASK_DISPATCH,
    retry=True,
    timeout_sec=task_worker.TIMEOUT_SECONDS,
    secrets=[config.OPENAI_API_KEY, config.GEMINI_API_KEY],
)
def on_task_dispatched(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    from aide.entrypoints import agent_runtime

    message = event.data.message
    agent_runtime.on_dispatch_message(message.message_id, message.data)


@scheduler_fn.on_schedule(schedule="every 1 minutes")
def sweep_stale_tasks(event: scheduler_fn.ScheduledEvent) -> None:
    from aide.entrypoints import agent_runtime

    agent_runtime.run_stale_task_sweep(event.schedule_time)


# Audit trail: one `written` trigger per audited collection; each change becomes at most
# one audit_logs entry keyed by the event id.
@firestore_fn.on_document_written(document=f"{collections.TASKS}/{{taskId}}")
def audit_tasks(
    event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]],
) -> None:
    from aide.entrypoints import audit

    audit.on_document_written(collections.TASKS, event)


@firestore_fn.on_document_written(document=f"{collections.TASK_GROUPS}/{{groupId}}")
def audit_task_groups(
    event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]],
) -> None:
    from aide.entrypoints import audit

    audit.on_document_written(collections.TASK_GROUPS, event)


@firestore_fn.on_document_written(document=f"{collections.PROJECTS}/{{projectId}}")
def audit_projects(
    event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]],
) -> None:
    from aide.entrypoints import audit

    audit.on_document_written(collections.PROJECTS, event)


@firestore_fn.on_document_written(document=f"{collections.API_KEYS}/{{keyId}}")
def audit_api_keys(
    event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]],
) -> None:
    from aide.entrypoints import audit

    audit.on_document_written(collections.API_KEYS, event)


@firestore_fn.on_document_written(document=f"{collections.USERS}/{{uid}}")
def audit_users(
    event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]],
) -> None:
    from aide.entrypoints import audit

    audit.on_document_written(collections.USERS, event)


@https_fn.on_request()
def admin(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import admin as admin_entry

    return admin_entry.serve(request)


# Quota periods end at UTC midnight (API calls) and month start (task minutes): reset counters
# whose period ended and roll the period into usage/billing. Idempotent, so hourly is harmless.
@scheduler_fn.on_schedule(schedule="5 * * * *")
def reset_quotas(event: scheduler_fn.ScheduledEvent) -> None:
    from aide.entrypoints import admin as admin_entry

    admin_entry.run_quota_reset()


# The hosted embedder (Gemini) reads its key on every write and query.
@https_fn.on_request(memory=options.MemoryOption.MB_512, secrets=[config.GEMINI_API_KEY])
def knowledge(request: https_fn.Request) -> https_fn.Response:
    from aide.entrypoints import knowledge as knowledge_entry

    return knowledge_entry.serve(request)
