"""Resource names and field paths, validated as Firestore validates them."""

from __future__ import annotations

import functools
from typing import NamedTuple

import grpc
from google.cloud.firestore_v1.field_path import render_field_path

from emulators.firestore.errors import EmulatorError


class DatabaseId(NamedTuple):
    project: str
    database: str

    @property
    def root(self) -> str:
        """The documents root: parent of top-level collections."""
        return f"projects/{self.project}/databases/{self.database}/documents"

    @property
    def name(self) -> str:
        return f"projects/{self.project}/databases/{self.database}"


def _invalid(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, message)


def parse_database(name: str) -> DatabaseId:
    """``projects/{p}/databases/{d}`` (as sent in ``database`` request fields)."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "projects" or parts[2] != "databases" or not all(parts):
        raise _invalid(f"Invalid database name: {name!r}")
    return DatabaseId(parts[1], parts[3])


@functools.lru_cache(maxsize=65536)
def _split_resource(name: str) -> tuple[DatabaseId, tuple[str, ...]]:
    parts = name.split("/")
    if (
        len(parts) < 5
        or parts[0] != "projects"
        or parts[2] != "databases"
        or parts[4] != "documents"
        or not parts[1]
        or not parts[3]
    ):
        raise _invalid(f"Invalid resource name: {name!r}")
    segments = tuple(parts[5:])
    for segment in segments:
        if (
            not segment
            or segment in (".", "..")
            or (segment.startswith("__") and segment.endswith("__") and len(segment) > 4)
        ):
            raise _invalid(f"Invalid resource name: {name!r}")
    return DatabaseId(parts[1], parts[3]), segments


def parse_document(name: str) -> DatabaseId:
    """Validate a document name; raises INVALID_ARGUMENT for collections or malformed names."""
    db, segments = _split_resource(name)
    if not segments or len(segments) % 2:
        raise _invalid(f"Document name {name!r} has odd number of segments or is empty")
    return db


def parse_parent(name: str) -> DatabaseId:
    """A query/list parent: the documents root or a document name."""
    db, segments = _split_resource(name)
    if len(segments) % 2:
        raise _invalid(f"Invalid parent {name!r}: must be the documents root or a document")
    return db


def validate_collection_id(collection_id: str) -> None:
    if (
        not collection_id
        or "/" in collection_id
        or (collection_id.startswith("__") and collection_id.endswith("__"))
    ):
        raise _invalid(f"Invalid collection id: {collection_id!r}")


def parent_and_collection(document_name: str) -> tuple[str, str]:
    """``.../documents/a/b/c/d`` → (``.../documents/a/b``, ``c``)."""
    collection_path, _, _ = document_name.rpartition("/")
    parent, _, collection_id = collection_path.rpartition("/")
    return parent, collection_id


def render_field(segments: tuple[str, ...] | list[str]) -> str:
    return str(render_field_path(list(segments)))
