"""Task outputs too large for Firestore, as objects in the default Cloud Storage bucket."""

from __future__ import annotations

from dataclasses import dataclass

from aide.adapters.storage_client import get_storage


@dataclass(frozen=True)
class CloudStorageBlobs:
    """services.output_storage.BlobStore over one bucket (the project's default one)."""

    bucket_name: str

    @classmethod
    def default(cls) -> CloudStorageBlobs:
        from aide import config

        return cls(config.storage_bucket())

    def upload(self, path: str, data: bytes, content_type: str) -> None:
        blob = get_storage().bucket(self.bucket_name).blob(path)
        blob.upload_from_string(data, content_type=content_type)

    def download(self, path: str) -> bytes:
        blob = get_storage().bucket(self.bucket_name).blob(path)
        return bytes(blob.download_as_bytes())
