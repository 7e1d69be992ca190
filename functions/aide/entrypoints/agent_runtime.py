"""The agent runtime's entry points: the dispatch-topic worker and the stale-task sweeper."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from pydantic import ValidationError

from aide.adapters.firestore_client import get_firestore
from aide.domain.task_dispatch import TaskDispatchMessage
from aide.domain.timestamps import schedule_skew
from aide.services.agent_runtime import RunReport, RuntimeDeps, execute_dispatched_task
from aide.services.stale_task_sweeper import DEFAULT_STALE_AFTER, SweepReport, sweep_stale_tasks
from aide.structured_logging import get_logger

log = get_logger(__name__)


def runtime_deps() -> RuntimeDeps:
    from aide.adapters.llm.registry import ProviderSettings, provider_for
    from aide.adapters.output_blobs import CloudStorageBlobs

    settings = ProviderSettings.from_params()
    return RuntimeDeps(
        db=get_firestore(),
        providers=lambda agent: provider_for(agent, settings),
        blobs=CloudStorageBlobs.default(),
    )


def on_dispatch_message(message_id: str, data: str) -> RunReport | None:
    """`data`: the message's base64 payload ({"taskId", "dispatchId", "userId"}).

    A payload that can never be processed is logged and acknowledged (raising would only make
    Pub/Sub redeliver it until dead-lettering). Duplicate deliveries are absorbed by the claim.
    """
    try:
        message = TaskDispatchMessage.model_validate_json(base64.b64decode(data, validate=True))
    except (ValueError, binascii.Error, ValidationError) as error:
        log.error(
            "dropping malformed dispatch message: %s",
            error,
            extra={"fields": {"messageId": message_id}},
        )
        return None
    report = execute_dispatched_task(runtime_deps(), message.task_id)
    log.info(
        "dispatch %s of task %s: %s",
        message.dispatch_id,
        message.task_id,
        report.outcome,
        extra={
            "fields": {
                "messageId": message_id,
                "taskId": message.task_id,
                "dispatchId": message.dispatch_id,
                "outcome": str(report.outcome),
            }
        },
    )
    return report


def run_stale_task_sweep(schedule_time: datetime | None = None) -> SweepReport:
    report = sweep_stale_tasks(
        get_firestore(), stale_after=DEFAULT_STALE_AFTER - schedule_skew(schedule_time)
    )
    log.info(
        "stale-task sweep: %d requeued, %d failed",
        len(report.requeued),
        len(report.failed),
        extra={"fields": {"requeued": report.requeued, "failed": report.failed}},
    )
    return report
