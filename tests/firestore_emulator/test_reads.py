"""Document reads and the single-document RPCs: get, batch get, list documents (with missing
parents), list collection ids, Create/Update/DeleteDocument and BatchWrite."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud.firestore_v1.types import common, document, write


def test_get_existing_and_missing(fs_client):
    ref = fs_client.collection("users").document("ada")
    assert not ref.get().exists
    ref.set({"name": "Ada", "age": 36})
    snapshot = ref.get()
    assert snapshot.exists and snapshot.to_dict() == {"name": "Ada", "age": 36}
    assert snapshot.create_time == snapshot.update_time
    assert ref.get(field_paths=["name"]).to_dict() == {"name": "Ada"}


def test_batch_get_with_mask_and_missing(fs_client):
    users = fs_client.collection("users")
    users.document("a").set({"x": 1, "y": {"z": 2, "w": 3}})
    users.document("b").set({"x": 2})
    refs = [users.document("a"), users.document("missing"), users.document("b")]
    snapshots = {s.id: s for s in fs_client.get_all(refs, field_paths=["y.z"])}
    assert snapshots["a"].to_dict() == {"y": {"z": 2}}
    assert snapshots["b"].to_dict() == {}
    assert not snapshots["missing"].exists


def test_list_documents_includes_missing_parents(fs_client):
    users = fs_client.collection("users")
    users.document("real").set({"x": 1})
    users.document("ghost").collection("posts").document("p1").set({"t": "only a child"})
    listed = {ref.id for ref in users.list_documents()}
    assert listed == {"real", "ghost"}
    assert not users.document("ghost").get().exists
    paged = [ref.id for ref in users.list_documents(page_size=1)]
    assert sorted(paged) == ["ghost", "real"]


def test_list_collection_ids(fs_client):
    fs_client.collection("alpha").document("d").set({})
    fs_client.collection("beta").document("d").collection("inner").document("x").set({})
    fs_client.collection("alpha").document("d").collection("sub1").document("s").set({})
    top = sorted(c.id for c in fs_client.collections())
    assert top == ["alpha", "beta"]
    assert [c.id for c in fs_client.collection("alpha").document("d").collections()] == ["sub1"]
    # beta/d does not exist but has a subcollection: still listed.
    assert [c.id for c in fs_client.collection("beta").document("d").collections()] == ["inner"]


def _api(fs_client):
    return fs_client._firestore_api


def test_create_update_delete_document_rpcs(fs_client):
    root = f"{fs_client._database_string}/documents"
    created = _api(fs_client).create_document(
        request={
            "parent": root,
            "collection_id": "notes",
            "document_id": "n1",
            "document": {"fields": {"text": {"string_value": "hi"}}},
        }
    )
    assert created.name == f"{root}/notes/n1"
    assert created.fields["text"].string_value == "hi"
    with pytest.raises(exceptions.Conflict):
        _api(fs_client).create_document(
            request={"parent": root, "collection_id": "notes", "document_id": "n1", "document": {}}
        )
    auto = _api(fs_client).create_document(
        request={"parent": root, "collection_id": "notes", "document": {}}
    )
    assert len(auto.name.rsplit("/", 1)[1]) == 20

    updated = _api(fs_client).update_document(
        request={
            "document": {"name": created.name, "fields": {"extra": {"integer_value": 5}}},
            "update_mask": {"field_paths": ["extra"]},
        }
    )
    assert set(updated.fields) == {"text", "extra"}
    with pytest.raises(exceptions.NotFound):
        _api(fs_client).update_document(
            request={
                "document": {"name": f"{root}/notes/nope", "fields": {}},
                "current_document": {"exists": True},
            }
        )
    _api(fs_client).delete_document(request={"name": created.name})
    with pytest.raises(exceptions.NotFound):
        _api(fs_client).get_document(request={"name": created.name})


def test_batch_write_reports_status_per_write(fs_client):
    root = f"{fs_client._database_string}/documents"
    good = write.Write(update=document.Document(name=f"{root}/bw/ok", fields={}))
    bad = write.Write(
        update=document.Document(name=f"{root}/bw/absent", fields={}),
        current_document=common.Precondition(exists=True),
    )
    response = _api(fs_client).batch_write(
        request={"database": fs_client._database_string, "writes": [good, bad]}
    )
    assert [s.code for s in response.status] == [0, 5]  # OK, NOT_FOUND
    assert response.write_results[0].update_time
    assert fs_client.collection("bw").document("ok").get().exists
    assert not fs_client.collection("bw").document("absent").get().exists


def test_projects_are_isolated_and_clear_empties_one(firestore_emulator, fs_client):
    other_project = fs_client.project + "-other"
    other = firestore_emulator.client(other_project)
    try:
        fs_client.collection("c").document("d").set({"who": "mine"})
        other.collection("c").document("d").set({"who": "other"})
        assert fs_client.collection("c").document("d").get().to_dict() == {"who": "mine"}
        firestore_emulator.clear(other_project)
        assert not other.collection("c").document("d").get().exists
        assert fs_client.collection("c").document("d").get().exists
    finally:
        other.close()
        firestore_emulator.clear(other_project)
