"""Applying one ``Write`` to a document: preconditions, set / update masks, field transforms.

Pure domain logic: takes the current document (or ``None``) and returns the new one, without
touching storage, so a commit can apply all its writes to a scratch view and store them only if
every write succeeds (atomicity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.unknown_fields import UnknownFieldSet

from emulators.firestore import values
from emulators.firestore.errors import EmulatorError
from emulators.firestore.protos import Document, Value
from emulators.firestore.query import field_segments

_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)


@dataclass
class WriteOutcome:
    """The document after a write (``None`` = deleted) and the write's transform results."""

    doc: Any
    transform_results: list[Any]


def check_precondition(write: Any, name: str, current: Any) -> None:
    if not write.HasField("current_document"):
        return
    precondition = write.current_document
    kind = precondition.WhichOneof("condition_type")
    if kind == "exists":
        if precondition.exists and current is None:
            raise EmulatorError(grpc.StatusCode.NOT_FOUND, f"No document to update: {name}")
        if not precondition.exists and current is not None:
            raise EmulatorError(grpc.StatusCode.ALREADY_EXISTS, f"Document already exists: {name}")
    elif kind == "update_time" and (
        current is None or current.update_time != precondition.update_time
    ):
        raise EmulatorError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"The stored version of {name} does not match the required base version.",
        )


# ``Write.verify`` (field 5: a precondition-only write, what the web SDK's transactions send
# for documents they read but did not write) is missing from the protos google-cloud-firestore
# ships, so it travels as an unknown field: kept by protobuf on the wire, read back here.
_VERIFY_FIELD = 5
_LENGTH_DELIMITED = 2


def verify_target(write: Any) -> str | None:
    """The document a ``verify`` write checks, or None for any other write."""
    if write.WhichOneof("operation") is not None:
        return None
    for field in UnknownFieldSet(write):
        if field.field_number == _VERIFY_FIELD and field.wire_type == _LENGTH_DELIMITED:
            return bytes(field.data).decode("utf-8")
    return None


def set_verify(write: Any, name: str) -> None:
    """Make ``write`` a ``verify`` of ``name`` (for requests parsed from JSON)."""
    data = name.encode("utf-8")
    length = len(data)
    varint = bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        if length:
            varint.append(byte | 0x80)
        else:
            varint.append(byte)
            break
    write.MergeFromString(bytes([(_VERIFY_FIELD << 3) | _LENGTH_DELIMITED]) + bytes(varint) + data)


def write_target(write: Any) -> str:
    kind = write.WhichOneof("operation")
    if kind == "update":
        return str(write.update.name)
    if kind == "delete":
        return str(write.delete)
    if kind == "transform":
        return str(write.transform.document)
    verified = verify_target(write)
    if verified is not None:
        return verified
    raise EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, "A write must have an operation")


def apply_write(write: Any, name: str, current: Any, commit_time: Any) -> WriteOutcome:
    """The result of ``write`` on ``current``; raises EmulatorError for a failed precondition.

    ``commit_time`` is a ``Timestamp``; the returned document carries name and fields only
    (the caller stamps create/update times once it knows whether anything changed).
    """
    check_precondition(write, name, current)
    kind = write.WhichOneof("operation")
    if kind == "delete":
        return WriteOutcome(None, [])
    new = Document(name=name)
    if kind == "update":
        if write.HasField("update_mask"):
            if current is not None:
                new.fields.MergeFrom(current.fields)
            for path in write.update_mask.field_paths:
                segments = field_segments(path)
                value = _lookup(write.update.fields, segments)
                if value is None:
                    _delete(new.fields, segments)
                else:
                    _set(new.fields, segments, value)
        else:
            new.fields.MergeFrom(write.update.fields)
        transforms = write.update_transforms
    else:
        if current is not None:
            new.fields.MergeFrom(current.fields)
        transforms = write.transform.field_transforms
    results = [_apply_transform(new.fields, transform, commit_time) for transform in transforms]
    return WriteOutcome(new, results)


def _lookup(fields: Any, segments: tuple[str, ...]) -> Any:
    for segment in segments[:-1]:
        value = fields.get(segment)
        if value is None or value.WhichOneof("value_type") != "map_value":
            return None
        fields = value.map_value.fields
    return fields.get(segments[-1])


def _delete(fields: Any, segments: tuple[str, ...]) -> None:
    for segment in segments[:-1]:
        value = fields.get(segment)
        if value is None or value.WhichOneof("value_type") != "map_value":
            return
        fields = value.map_value.fields
    if segments[-1] in fields:
        del fields[segments[-1]]


def _set(fields: Any, segments: tuple[str, ...], value: Any) -> None:
    for segment in segments[:-1]:
        holder = fields[segment]
        if holder.WhichOneof("value_type") != "map_value":
            holder.Clear()
            holder.map_value.SetInParent()
        fields = holder.map_value.fields
    fields[segments[-1]].CopyFrom(value)


def _number(value: Any) -> int | float | None:
    kind = value.WhichOneof("value_type") if value is not None else None
    if kind == "integer_value":
        return int(value.integer_value)
    if kind == "double_value":
        return float(value.double_value)
    return None


def _apply_transform(fields: Any, transform: Any, commit_time: Any) -> Any:
    segments = field_segments(transform.field_path)
    current = _lookup(fields, segments)
    kind = transform.WhichOneof("transform_type")
    result = Value()
    if kind == "set_to_server_value":
        if transform.set_to_server_value != 1:
            raise EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, "Unknown server value")
        result.timestamp_value.CopyFrom(commit_time)
        _set(fields, segments, result)
        return result
    if kind == "increment":
        new_value = _increment(current, transform.increment)
    elif kind == "maximum":
        new_value = _extreme(current, transform.maximum, want_larger=True)
    elif kind == "minimum":
        new_value = _extreme(current, transform.minimum, want_larger=False)
    elif kind == "append_missing_elements":
        new_value = _array_union(current, transform.append_missing_elements.values)
    elif kind == "remove_all_from_array":
        new_value = _array_remove(current, transform.remove_all_from_array.values)
    else:
        raise EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, "Field transform has no operation")
    _set(fields, segments, new_value)
    if kind in ("append_missing_elements", "remove_all_from_array"):
        # Firestore returns null for array transforms.
        result.null_value = 0
        return result
    return new_value


def _require_number(operand: Any, name: str) -> int | float:
    number = _number(operand)
    if number is None:
        raise EmulatorError(
            grpc.StatusCode.INVALID_ARGUMENT, f"{name} operand must be an integer or a double"
        )
    return number


def _increment(current: Any, operand: Any) -> Any:
    step = _require_number(operand, "increment")
    base = _number(current)
    result = Value()
    if base is None:
        result.CopyFrom(operand)
    elif isinstance(base, int) and isinstance(step, int):
        # Integer overflow saturates, as documented for DocumentTransform.increment.
        result.integer_value = max(_INT64_MIN, min(_INT64_MAX, base + step))
    else:
        result.double_value = float(base) + float(step)
    return result


def _extreme(current: Any, operand: Any, *, want_larger: bool) -> Any:
    candidate = _require_number(operand, "maximum" if want_larger else "minimum")
    base = _number(current)
    result = Value()
    if base is None:
        result.CopyFrom(operand)
        return result
    # NaN wins both maximum and minimum; equal operands keep the stored value (3 vs 3.0).
    if isinstance(base, float) and math.isnan(base):
        result.CopyFrom(current)
    elif (isinstance(candidate, float) and math.isnan(candidate)) or (
        candidate > base if want_larger else candidate < base
    ):
        result.CopyFrom(operand)
    else:
        result.CopyFrom(current)
    return result


def _array_union(current: Any, elements: Any) -> Any:
    result = Value()
    result.array_value.SetInParent()
    if current is not None and current.WhichOneof("value_type") == "array_value":
        result.array_value.values.extend(current.array_value.values)
    for element in elements:
        if not any(values.equals(element, existing) for existing in result.array_value.values):
            result.array_value.values.append(element)
    return result


def _array_remove(current: Any, elements: Any) -> Any:
    result = Value()
    result.array_value.SetInParent()
    if current is not None and current.WhichOneof("value_type") == "array_value":
        for existing in current.array_value.values:
            if not any(values.equals(existing, element) for element in elements):
                result.array_value.values.append(existing)
    return result
