"""api_keys/{keyId}: programmatic credentials — shown once, stored only as a hash.

A key reads `aide_<keyId>_<secret>`. `keyId` (public, random) is the document id, so checking a
key costs one document read; the document holds only SHA-256 of the whole key, compared in
constant time. The secret carries 256 bits of entropy, which is why a plain (unsalted, fast) hash
is enough: there is nothing to brute-force.
"""

import hashlib
import hmac
import re
from typing import Final

from pydantic import Field, field_validator

from aide.domain.access import KNOWN_SCOPES
from aide.domain.base import DocumentModel, RequestModel
from aide.domain.timestamps import UtcDateTime, utc_now

API_KEY_PREFIX = "aide_"
KEY_ID_PATTERN: Final = re.compile(r"^[0-9a-f]{16}$")


class ApiKey(DocumentModel):
    id: str
    user_id: str
    name: str
    scopes: list[str]
    # First characters of the secret, to let users recognise a key without storing it.
    prefix: str
    hash: str
    created_at: UtcDateTime = Field(default_factory=utc_now)
    expires_at: UtcDateTime | None = None
    last_used_at: UtcDateTime | None = None
    revoked_at: UtcDateTime | None = None

    def is_usable(self, now: UtcDateTime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


class ApiKeyCreate(RequestModel):
    """POST /api_keys — the seed's apiKey schema."""

    name: str = Field(min_length=3, max_length=50)
    expires_at: UtcDateTime | None = None
    scopes: list[str] = Field(min_length=1)

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str]) -> list[str]:
        unknown = sorted(set(scopes) - KNOWN_SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes {unknown}; known: {sorted(KNOWN_SCOPES)}")
        return list(dict.fromkeys(scopes))


class ApiKeyView(DocumentModel):
    """An API key as its owner sees it: everything but the hash."""

    id: str
    name: str
    scopes: list[str]
    prefix: str
    created_at: UtcDateTime
    expires_at: UtcDateTime | None = None
    last_used_at: UtcDateTime | None = None
    revoked_at: UtcDateTime | None = None

    @classmethod
    def of(cls, key: ApiKey) -> "ApiKeyView":
        return cls.model_validate(key.model_dump(exclude={"hash", "user_id"}))


class ApiKeyIssued(DocumentModel):
    """POST /api_keys `data`: the only response that ever contains the key itself."""

    api_key: ApiKeyView
    key: str


class ApiKeyList(DocumentModel):
    api_keys: list[ApiKeyView]


class ApiKeyEnvelope(DocumentModel):
    api_key: ApiKeyView


def format_api_key(key_id: str, secret: str) -> str:
    return f"{API_KEY_PREFIX}{key_id}_{secret}"


def api_key_id(key: str) -> str | None:
    """The key id a presented key names, or None when it is not shaped like one of ours."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    key_id, separator, secret = key[len(API_KEY_PREFIX) :].partition("_")
    if not separator or not secret or not KEY_ID_PATTERN.match(key_id):
        return None
    return key_id


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def matches_hash(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), stored_hash)
