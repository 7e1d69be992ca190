"""Base classes for every model: camelCase on the wire and in Firestore, snake_case in Python."""

from typing import Any, Self

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from pydantic.fields import ComputedFieldInfo, FieldInfo


def _field_title(field_name: str, info: FieldInfo | ComputedFieldInfo) -> str:
    # Contracts show the wire name ("agentId"), not pydantic's "Agentid".
    return info.alias or to_camel(field_name)


class DocumentModel(BaseModel):
    """A Firestore document or an API response body.

    Unknown fields are ignored on read so that documents written by a newer deployment still load.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        field_title_generator=_field_title,
        extra="ignore",
    )

    def to_document(self) -> dict[str, Any]:
        """Fields as Firestore stores them: camelCase keys, datetimes kept native, None omitted."""
        return self.model_dump(mode="python", by_alias=True, exclude_none=True)

    def to_json_dict(self) -> dict[str, Any]:
        """Fields as the API returns them: camelCase keys, RFC 3339 'Z' timestamps."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)


class RequestModel(DocumentModel):
    """A client payload: anything the schema does not name is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid")
