"""Where a finished task's outputs go: inline on the task when small, Cloud Storage when not.

Outputs whose JSON exceeds INLINE_OUTPUT_LIMIT_BYTES are uploaded to
`task-outputs/{userId}/{taskId}/outputs.json`; the task then keeps `outputRef` (bucket, path,
size) and a small inline `outputs` stub that says where the full value is. The owner downloads it
through `GET /tasks/{id}/output` (the tasks function checks ownership and streams the object),
so no bucket ever needs public access or signing credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Protocol

from aide.domain.execution_graph import INLINE_OUTPUT_LIMIT_BYTES, json_size_bytes, summarize
from aide.domain.tasks import StoredOutput, Task

CONTENT_TYPE: Final = "application/json"


class BlobStore(Protocol):
    @property
    def bucket_name(self) -> str: ...

    def upload(self, path: str, data: bytes, content_type: str) -> None: ...

    def download(self, path: str) -> bytes: ...


@dataclass(frozen=True)
class PlacedOutputs:
    outputs: dict[str, Any]
    """What the task document holds (the full outputs, or a stub pointing at the object)."""
    output_ref: StoredOutput | None
    size_bytes: int


def output_path(task: Task) -> str:
    return f"task-outputs/{task.user_id}/{task.id}/outputs.json"


def download_path(task_id: str) -> str:
    """The API path (on the tasks function) the owner fetches stored outputs from."""
    return f"/tasks/{task_id}/output"


def place_outputs(
    task: Task,
    outputs: dict[str, Any],
    blobs: BlobStore,
    *,
    inline_limit: int = INLINE_OUTPUT_LIMIT_BYTES,
) -> PlacedOutputs:
    """Upload `outputs` when too large for the task document; the upload is a whole-object
    overwrite at a fixed path, so a repeated attempt leaves one object, never two."""
    size = json_size_bytes(outputs)
    if size <= inline_limit:
        return PlacedOutputs(outputs, None, size)
    path = output_path(task)
    blobs.upload(path, json.dumps(outputs, default=str).encode(), CONTENT_TYPE)
    stub = {
        "stored": True,
        "sizeBytes": size,
        "downloadPath": download_path(task.id),
        "preview": summarize(str(outputs.get("result", "")), 1000),
    }
    ref = StoredOutput(
        bucket=blobs.bucket_name, path=path, size_bytes=size, content_type=CONTENT_TYPE
    )
    return PlacedOutputs(stub, ref, size)


def read_stored_outputs(task: Task, blobs: BlobStore) -> bytes | None:
    """The stored outputs' JSON bytes, or None when the task keeps its outputs inline."""
    if task.output_ref is None:
        return None
    return blobs.download(task.output_ref.path)
