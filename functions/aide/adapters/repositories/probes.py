from typing import ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.probes import Probe, ProbeResult


class ProbeRepository(Repository[Probe]):
    collection_name: ClassVar[str] = collections.PROBES
    model = Probe


class ProbeResultRepository(Repository[ProbeResult]):
    collection_name: ClassVar[str] = collections.PROBE_RESULTS
    model = ProbeResult
    id_field: ClassVar[str] = "probe_id"
