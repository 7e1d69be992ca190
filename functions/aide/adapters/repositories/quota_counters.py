"""quota_counters/{uid}_{day}_g{generation}_s{shard}: the sharded API-call counters metering
writes blind (aide.services.metering). Plain documents, not a model: each holds the day's
`apiCalls`, a `minutes` map for the burst window and, for a new generation, `carried` units."""

from __future__ import annotations

from typing import Any, ClassVar

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from aide.adapters.repositories.base import Collection
from aide.domain import collections, quota


class QuotaCounterRepository(Collection):
    collection_name: ClassVar[str] = collections.QUOTA_COUNTERS

    def increment(
        self, doc_id: str, fields: dict[str, Any], minute: str, units: int
    ) -> quota.ShardOutcome:
        """One blind write adding `units` to the day and to `minute`; the values after it, read
        from the commit's transform results (no read)."""
        result = self.ref(doc_id).set(
            {
                **fields,
                "apiCalls": firestore.Increment(units),
                "minutes": {minute: firestore.Increment(units)},
            },
            merge=True,
        )
        # Transform results come in field-path order of the transforms: apiCalls, minutes.<HHMM>.
        values = [int(value.integer_value) for value in result.transform_results]
        return quota.ShardOutcome(day_used=values[0], minute_used=values[1])

    def give_back(self, doc_id: str, minute: str, units: int) -> None:
        self.merge(
            doc_id,
            {
                "apiCalls": firestore.Increment(-units),
                "minutes": {minute: firestore.Increment(-units)},
            },
        )

    def documents(
        self, uid: str, day: str, generations: range, shards: int = quota.SHARDS
    ) -> list[dict[str, Any]]:
        """The existing counters of `uid` on `day` in `generations`, in one read."""
        ids = [quota.counter_id(uid, day, g, s) for g in generations for s in range(shards)]
        return [snapshot.to_dict() or {} for snapshot in self.snapshots(ids) if snapshot.exists]

    def users_active_on(self, day: str) -> set[str]:
        """The users with a counter on `day` (one query)."""
        query = self.collection.where(filter=FieldFilter("date", "==", day)).select(["userId"])
        return {str((snapshot.to_dict() or {}).get("userId")) for snapshot in query.stream()}
