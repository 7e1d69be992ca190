"""knowledge_graph: persistent project knowledge — entities, bi-temporal relations, observations.

Every document is scoped to a user and, optionally, a project (MCP memory's model, scoped as Mem0).
All kinds share the collection; `kind` tells them apart and `scopeKey` is the one equality filter
every query starts with (and the pre-filter of the vector index).
"""

from datetime import datetime
from typing import Annotated, Any, Final, Literal, Self

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from aide.domain.base import DocumentModel, RequestModel
from aide.domain.timestamps import UtcDateTime, utc_now

# The embedding dimension of the vector index in firestore.indexes.json: all-MiniLM-L6-v2's, and
# the output dimensionality the hosted Gemini embedder is asked for, so one index serves both.
EMBEDDING_DIMENSION = 384
MAX_NAME_LENGTH = 200
MAX_TYPE_LENGTH = 100
MAX_OBSERVATION_LENGTH = 2000
MAX_ITEMS_PER_REQUEST = 100
MAX_OBSERVATIONS_PER_ENTITY = 50
# Documents one write request may create: keeps a transaction well inside Firestore's commit
# limits (500 writes, 10 MiB with 384-dimension vectors) and the embedding call short.
MAX_DOCUMENTS_PER_REQUEST = 400


def normalize_entity_name(name: str) -> str:
    """An entity is unique by this form of its name within its scope."""
    return " ".join(name.casefold().split())


def scope_key_of(user_id: str, project_id: str | None) -> str:
    # "~" cannot be a Firestore auto-id, so personal knowledge never collides with a project's.
    return f"{user_id}/{project_id or '~'}"


def _as_float_list(value: Any) -> Any:
    # Firestore returns a Vector (a Sequence, not a list); keep the domain free of its type.
    if value is None or isinstance(value, list):
        return value
    return [float(element) for element in value]


class _Embedded(DocumentModel):
    embedding: list[float] | None = None
    embedding_model: str | None = None

    floats_from_vector = field_validator("embedding", mode="before")(_as_float_list)


class KnowledgeEntity(_Embedded):
    kind: Literal["entity"] = "entity"
    id: str
    user_id: str
    project_id: str | None = None
    scope_key: str = ""
    name: str
    normalized_name: str
    entity_type: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    # Lower-cased word tokens of name and type: the keyword half of hybrid search.
    keywords: list[str] = Field(default_factory=list)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    updated_at: UtcDateTime = Field(default_factory=utc_now)


class KnowledgeRelation(DocumentModel):
    kind: Literal["relation"] = "relation"
    id: str
    user_id: str
    project_id: str | None = None
    scope_key: str = ""
    source_id: str
    target_id: str
    source_name: str = ""
    target_name: str = ""
    relation_type: str
    # A superseded fact is closed (valid_to set), never deleted, so "as of" queries still see it.
    valid_from: UtcDateTime = Field(default_factory=utc_now)
    valid_to: UtcDateTime | None = None
    created_at: UtcDateTime = Field(default_factory=utc_now)

    def valid_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_to is None or moment < self.valid_to)


class KnowledgeObservation(_Embedded):
    kind: Literal["observation"] = "observation"
    id: str
    user_id: str
    project_id: str | None = None
    scope_key: str = ""
    entity_id: str
    # Denormalized from the entity so type filters and hits need no second read.
    entity_name: str = ""
    entity_type: str = ""
    content: str
    keywords: list[str] = Field(default_factory=list)
    created_at: UtcDateTime = Field(default_factory=utc_now)


class KnowledgeScopeStats(DocumentModel):
    """One per scope: running totals the quota layer reads (storage counts toward storageBytes)."""

    kind: Literal["scope"] = "scope"
    id: str
    user_id: str
    project_id: str | None = None
    scope_key: str = ""
    storage_bytes: int = 0
    entity_count: int = 0
    relation_count: int = 0
    observation_count: int = 0
    updated_at: UtcDateTime = Field(default_factory=utc_now)


# --- API: requests (extra fields refused) ---------------------------------------------------


def _storable_text(value: str) -> str:
    # JSON may carry lone UTF-16 surrogates; Firestore (and hashing) need valid UTF-8.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from error
    return value


def _metadata_key(value: str) -> str:
    if value.startswith("__") and value.endswith("__"):
        raise ValueError("keys of the form __name__ are reserved")
    return _storable_text(value)


Text = Annotated[str, AfterValidator(_storable_text)]
MetadataKey = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(_metadata_key)
]
# Flat, Firestore-storable values: integers within int64, finite floats, bounded strings.
MetadataValue = (
    Annotated[str, StringConstraints(max_length=1000), AfterValidator(_storable_text)]
    | bool
    | Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
    | Annotated[float, Field(allow_inf_nan=False)]
    | None
)
Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=20)]
_NAME = Field(min_length=1, max_length=MAX_NAME_LENGTH)
_TYPE = Field(min_length=1, max_length=MAX_TYPE_LENGTH)


class _Scoped(RequestModel):
    project_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="A project the caller can read; without it, the caller's own knowledge",
    )


class EntityInput(RequestModel):
    name: Text = _NAME
    entity_type: Text = _TYPE
    observations: list[Text] = Field(default_factory=list, max_length=MAX_OBSERVATIONS_PER_ENTITY)
    metadata: Metadata = Field(default_factory=dict)

    @field_validator("name", "entity_type")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("observations")
    @classmethod
    def _observations(cls, values: list[str]) -> list[str]:
        return _clean_observations(values)


def _clean_observations(values: list[str]) -> list[str]:
    cleaned = []
    for value in values:
        text = value.strip()
        if not text:
            raise ValueError("observations must not be blank")
        if len(text) > MAX_OBSERVATION_LENGTH:
            raise ValueError(f"an observation is at most {MAX_OBSERVATION_LENGTH} characters")
        cleaned.append(text)
    return cleaned


def _within_document_budget(count: int) -> None:
    if count > MAX_DOCUMENTS_PER_REQUEST:
        raise ValueError(
            f"at most {MAX_DOCUMENTS_PER_REQUEST} entities and observations per request "
            f"(got {count})"
        )


class EntitiesCreate(_Scoped):
    entities: list[EntityInput] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)

    @model_validator(mode="after")
    def _budget(self) -> Self:
        _within_document_budget(sum(1 + len(item.observations) for item in self.entities))
        return self


class RelationInput(RequestModel):
    source: Text = Field(alias="from", min_length=1, max_length=MAX_NAME_LENGTH)
    target: Text = Field(alias="to", min_length=1, max_length=MAX_NAME_LENGTH)
    relation_type: Text = _TYPE
    valid_from: UtcDateTime | None = None
    # Graphiti's contradiction handling, simply: close every other open relation of this type
    # from the same source (e.g. a new "works_at" ends the previous one).
    supersede: bool = False


class RelationsCreate(_Scoped):
    relations: list[RelationInput] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)


class RelationRef(RequestModel):
    source: Text = Field(alias="from", min_length=1, max_length=MAX_NAME_LENGTH)
    target: Text = Field(alias="to", min_length=1, max_length=MAX_NAME_LENGTH)
    relation_type: Text = _TYPE


class RelationsDelete(_Scoped):
    relations: list[RelationRef] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)


class RelationClose(RelationRef):
    valid_to: UtcDateTime | None = None


class RelationsClose(_Scoped):
    relations: list[RelationClose] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)


class ObservationsInput(RequestModel):
    entity_name: Text = _NAME
    contents: list[Text] = Field(min_length=1, max_length=MAX_OBSERVATIONS_PER_ENTITY)

    clean_contents = field_validator("contents")(_clean_observations)


class ObservationsAdd(_Scoped):
    observations: list[ObservationsInput] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)

    @model_validator(mode="after")
    def _budget(self) -> Self:
        _within_document_budget(sum(len(item.contents) for item in self.observations))
        return self


class ObservationsDeleteInput(RequestModel):
    entity_name: Text = _NAME
    observations: list[Text] = Field(min_length=1, max_length=MAX_OBSERVATIONS_PER_ENTITY)


class ObservationsDelete(_Scoped):
    deletions: list[ObservationsDeleteInput] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)


class EntitiesDelete(_Scoped):
    entity_names: list[Text] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)


class NodesSearch(_Scoped):
    query: Text = Field(min_length=1, max_length=500)


class KnowledgeQuery(_Scoped):
    """queryKnowledge: hybrid semantic + keyword search, optionally reranked around a focus."""

    query: Text = Field(min_length=1, max_length=2000)
    limit: int = Field(default=10, ge=1, le=50)
    entity_types: list[Text] | None = Field(default=None, min_length=1, max_length=10)
    focal_entity: Text | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)
    # Neighbourhood expansion around the hits, for context (bounded).
    hops: int = Field(default=0, ge=0, le=2)
    as_of: UtcDateTime | None = None


_AS_OF: Final = "Relations valid at this time (default: now)"


class ScopeRead(_Scoped):
    """GET /stats query string."""


class GraphRead(_Scoped):
    """GET /graph query string."""

    as_of: UtcDateTime | None = Field(default=None, description=_AS_OF)


class NodesOpen(_Scoped):
    """GET /nodes query string: `names` repeated once per entity."""

    names: list[Text] = Field(
        min_length=1, max_length=MAX_ITEMS_PER_REQUEST, description="Entity names"
    )
    as_of: UtcDateTime | None = Field(default=None, description=_AS_OF)


# --- API: responses -------------------------------------------------------------------------


class EntityView(DocumentModel):
    """An entity as MCP memory shows it: name, type and its observations."""

    name: str
    entity_type: str
    observations: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class RelationView(DocumentModel):
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    relation_type: str
    valid_from: UtcDateTime
    valid_to: UtcDateTime | None = None


class GraphView(DocumentModel):
    entities: list[EntityView]
    relations: list[RelationView]
    truncated: bool = False


class WriteResult(DocumentModel):
    """What a write changed; `storageBytesDelta` is what it added to the scope's storage."""

    entities: list[EntityView] = Field(default_factory=list)
    relations: list[RelationView] = Field(default_factory=list)
    observations: list[dict[str, Any]] = Field(default_factory=list)
    deleted: int = 0
    skipped: int = 0
    storage_bytes_delta: int = 0


class KnowledgeHit(DocumentModel):
    entity: EntityView
    score: float
    semantic_score: float = 0.0
    keyword_score: float = 0.0
    graph_distance: int | None = None
    # The observation that matched best, when an observation (not the entity itself) matched.
    matched_observation: str | None = None


class QueryResult(DocumentModel):
    hits: list[KnowledgeHit]
    relations: list[RelationView]
    neighbourhood: list[EntityView] = Field(default_factory=list)


class ScopeStatsView(DocumentModel):
    """GET /stats: the scope's running totals (what knowledge adds to `storageBytes`)."""

    project_id: str | None = None
    storage_bytes: int
    entity_count: int
    relation_count: int
    observation_count: int
