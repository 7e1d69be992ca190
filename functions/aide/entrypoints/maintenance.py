"""Scheduled housekeeping."""

from __future__ import annotations

from aide.adapters.firestore_client import get_firestore
from aide.services.purge import purge_expired
from aide.structured_logging import get_logger

log = get_logger(__name__)


def run_purge_expired() -> dict[str, int]:
    deleted = purge_expired(get_firestore())
    log.info("purged expired documents", extra={"fields": {"deleted": deleted}})
    return deleted
