"""firebase-admin's Firestore client works against the emulator.

firebase_admin.firestore.client() asks the app's credential for Google credentials; an
emulator needs none, so the pattern is an app whose credential yields AnonymousCredentials
and whose options carry the project id."""

from __future__ import annotations

import uuid

import firebase_admin
from firebase_admin import credentials, firestore
from google.auth.credentials import AnonymousCredentials


class EmulatorCredential(credentials.Base):
    def get_credential(self):
        return AnonymousCredentials()


def test_firebase_admin_client_reads_and_writes(firestore_emulator, fs_client):
    app = firebase_admin.initialize_app(
        EmulatorCredential(), {"projectId": fs_client.project}, name=f"test-{uuid.uuid4().hex}"
    )
    try:
        db = firestore.client(app)
        db.collection("admin").document("a").set({"via": "firebase-admin"})
        assert fs_client.collection("admin").document("a").get().to_dict() == {
            "via": "firebase-admin"
        }
        assert [s.id for s in db.collection("admin").stream()] == ["a"]
    finally:
        firebase_admin.delete_app(app)
