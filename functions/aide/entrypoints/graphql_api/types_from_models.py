"""GraphQL SDL generated from the pydantic models, so the GraphQL types and the documents the
REST API returns never drift: each object type is a model (or a dataclass it nests), each field
its camelCase alias, each enum the StrEnum's values.

Rules: a field named `id` → ID, str → String, bool → Boolean, float → Float, datetime →
DateTime (RFC 3339), an output int → Long (a JSON integer: quotas and byte counts exceed
GraphQL's 32-bit Int; input ints stay Int), a free-form map or `Any` → JSON, list[X] → [X!]!,
`X | None` → nullable, a nested model or dataclass → its own type, a StrEnum → an enum whose
names are the values in upper case.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, Union

from pydantic import AwareDatetime, BaseModel

SCALARS_SDL = '''"""An RFC 3339 timestamp in UTC."""
scalar DateTime

"""A JSON integer (up to 2^53): counts and quotas that exceed GraphQL's 32-bit Int."""
scalar Long

"""Any JSON value (free-form maps: task inputs and outputs, settings, event data)."""
scalar JSON
'''


def enum_name(value: str) -> str:
    """The GraphQL name of a StrEnum value ("in_progress" → "IN_PROGRESS")."""
    return re.sub(r"[^A-Za-z0-9_]", "_", value).upper()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type without Annotated/Optional, whether None is allowed)."""
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            nullable = nullable or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                return Any, True
            annotation = args[0]
        else:
            return annotation, nullable


def field_names(owner: type) -> dict[str, str]:
    """GraphQL field name → Python attribute, for a model or a dataclass."""
    if issubclass(owner, BaseModel):
        return {(info.alias or name): name for name, info in owner.model_fields.items()}
    return {camel(f.name): f.name for f in dataclasses.fields(owner)}  # type: ignore[arg-type]


def _field_types(owner: type) -> Iterable[tuple[str, Any, bool]]:
    """(GraphQL name, annotation, whether the field must be given)."""
    if issubclass(owner, BaseModel):
        for name, info in owner.model_fields.items():
            yield info.alias or name, info.annotation, info.is_required()
    else:
        hints = typing.get_type_hints(owner)
        for f in dataclasses.fields(owner):  # type: ignore[arg-type]
            yield camel(f.name), hints[f.name], True


# Model names GraphQL keeps for itself (root operation types) and what they are called instead.
RENAMED = {"Subscription": "PlanSubscription", "Query": "QueryModel", "Mutation": "MutationModel"}


def type_name(owner: type) -> str:
    return RENAMED.get(owner.__name__, owner.__name__)


class SdlBuilder:
    """Collects the types reachable from the models it is given and renders them as SDL."""

    def __init__(self) -> None:
        self.objects: dict[str, type] = {}
        self.inputs: dict[str, type[BaseModel]] = {}
        self.enums: dict[str, type[StrEnum]] = {}
        self._lines: list[str] = []

    def type_ref(self, annotation: Any, *, as_input: bool) -> str:
        inner, nullable = _unwrap(annotation)
        rendered = self._named(inner, as_input=as_input)
        return rendered if nullable else f"{rendered}!"

    def _named(self, annotation: Any, *, as_input: bool) -> str:
        origin = typing.get_origin(annotation)
        if origin in (list, tuple, set, frozenset):
            (item,) = typing.get_args(annotation)[:1] or (Any,)
            return f"[{self.type_ref(item, as_input=as_input)}]"
        if origin is dict or annotation is dict or annotation is Any:
            return "JSON"
        if isinstance(annotation, type):
            if issubclass(annotation, StrEnum):
                self.enums[annotation.__name__] = annotation
                return annotation.__name__
            if annotation is bool:
                return "Boolean"
            if annotation is int:
                return "Int" if as_input else "Long"
            if annotation is float:
                return "Float"
            if annotation is str:
                return "String"
            if issubclass(annotation, datetime) or annotation is AwareDatetime:
                return "DateTime"
            if issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation):
                if as_input:
                    assert issubclass(annotation, BaseModel), annotation
                    name = f"{type_name(annotation)}Input"
                    self.inputs.setdefault(name, annotation)
                    return name
                self.objects.setdefault(type_name(annotation), annotation)
                return type_name(annotation)
        return "JSON"

    def render(self) -> str:
        blocks: list[str] = [SCALARS_SDL]
        done: set[str] = set()
        # Rendering a type may reach new ones: loop until every reached type is rendered.
        while True:
            pending = [
                (name, owner, False) for name, owner in self.objects.items() if name not in done
            ] + [(name, owner, True) for name, owner in self.inputs.items() if name not in done]
            if not pending:
                break
            for name, owner, as_input in pending:
                done.add(name)
                keyword = "input" if as_input else "type"
                fields = []
                for field, annotation, required in _field_types(owner):
                    rendered = self.type_ref(annotation, as_input=as_input)
                    if field == "id" and rendered == "String!":
                        rendered = "ID!"
                    if as_input and not required:
                        # A field with a default may be left out.
                        rendered = rendered.removesuffix("!")
                    fields.append(f"  {field}: {rendered}")
                blocks.append(f"{keyword} {name} {{\n" + "\n".join(fields) + "\n}\n")
        for name, enum in sorted(self.enums.items()):
            values = "\n".join(f"  {enum_name(member.value)}" for member in enum)
            blocks.append(f"enum {name} {{\n{values}\n}}\n")
        return "\n".join(blocks)


def input_values(model: type[BaseModel], given: dict[str, Any]) -> dict[str, Any]:
    """The input as the model validates it: an explicit null for a field that cannot be null
    means "not given" (its default), as leaving it out does."""
    nullable = {
        (info.alias or name)
        for name, info in model.model_fields.items()
        if _unwrap(info.annotation)[1]
    }
    return {key: value for key, value in given.items() if value is not None or key in nullable}


def models_sdl(objects: Iterable[type[BaseModel]], inputs: Iterable[type[BaseModel]]) -> str:
    builder = SdlBuilder()
    for model in objects:
        builder.type_ref(model, as_input=False)
    for model in inputs:
        builder.type_ref(model, as_input=True)
    return builder.render()
