"""``--import`` / ``--export-on-exit``: the on-disk format is one JSON Lines file.

``DIR/firestore-documents.jsonl`` holds one line per existing document of every project and
database: ``{"name": "<full document name>", "document": "<base64 of the serialized
google.firestore.v1.Document>"}``. Create and update times are kept; version history is not.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from emulators.firestore import clock
from emulators.firestore.paths import parse_document
from emulators.firestore.protos import Document
from emulators.firestore.store import Store

FILE_NAME = "firestore-documents.jsonl"


def export_documents(store: Store, directory: str | Path) -> int:
    """Write every existing document to ``directory``; returns how many were written."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    temporary = target / (FILE_NAME + ".tmp")
    count = 0
    with temporary.open("w", encoding="utf-8") as out:
        for db in store.databases():
            with db.cond:
                docs = list(db.existing())
            for doc in docs:
                encoded = base64.b64encode(doc.SerializeToString()).decode("ascii")
                out.write(json.dumps({"name": doc.name, "document": encoded}) + "\n")
                count += 1
    # Replace atomically so an interrupted export never leaves a truncated file behind.
    os.replace(temporary, target / FILE_NAME)
    return count


def import_documents(store: Store, directory: str | Path) -> int:
    """Load documents exported by ``export_documents``; returns how many were loaded."""
    source = Path(directory) / FILE_NAME
    if not source.exists():
        return 0
    count = 0
    with source.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            doc = Document.FromString(base64.b64decode(record["document"]))
            db = store.database(parse_document(doc.name))
            with db.cond:
                db.load(doc, clock.from_timestamp(doc.update_time))
            count += 1
    return count
