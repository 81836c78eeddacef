"""Input descriptions in JSON Schema, checked with messages a person can act on.

An input (a request body, a tool's arguments) is described once, as a JSON
Schema object; the same dictionary is published (OpenAPI, MCP ``inputSchema``)
and checked here. Only the keywords our inputs use are understood: ``type``
(object, string, integer, boolean, array), ``properties``, ``required``,
``additionalProperties: false``, ``minProperties``, ``enum``, ``minLength``,
``maxLength``, ``pattern``, ``minimum``, ``maximum``, and for arrays ``items``,
``minItems``, ``maxItems`` and ``uniqueItems``; and two annotations of ours for
free-form values (content ``data``): ``x-maxDepth`` (objects and arrays nested at
most this deep, the value itself counting as 1) and ``x-integerLimit`` (whole
numbers anywhere inside within plus or minus this; ``jsonutil.loads_input`` keeps
one too large for 64 bits a whole number, so it counts). A ``x-message`` on a
property replaces the generic message when its string rules fail (a JSON Schema
annotation, ignored by other validators).

``problems`` answers field → messages for every problem at once, the shape of
the error envelope's ``fields``. As JSON Schema has it, ``pattern`` must match
the whole value when anchored with ``^…$`` (``$`` is the end of the string:
Python's ``$`` would also accept a final newline). A JSON ``null`` counts as
absent: "Required" for a required field, nothing for an optional one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["BODY", "Schema", "json_type_name", "object_schema", "problems"]

Schema = dict[str, Any]

#: The field name of problems with the input as a whole.
BODY = "body"

_TYPE_NAMES = {"object": "object", "string": "string", "integer": "integer", "boolean": "boolean", "array": "array"}


def json_type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for "Expected X, received Y" messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def object_schema(properties: Mapping[str, Schema], required: tuple[str, ...] = (), *,
                  closed: bool = False, **keywords: Any) -> Schema:
    """``{"type": "object", "properties": …}``; ``closed`` forbids other properties."""
    schema: Schema = {"type": "object", "properties": dict(properties), **keywords}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


@functools.cache
def _whole_match(pattern: str) -> re.Pattern[str]:
    # ECMA-262's "$" (JSON Schema's dialect) matches only at the very end; Python's also before a final "\n".
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern)


def _is_type(expected: str, value: object) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "string":
        return isinstance(value, str)
    if expected == "integer":  # bool is an int in Python but not in JSON; 2.0 is a JSON number, not an integer
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "array":
        return isinstance(value, list)
    raise ValueError(f"schema type {expected!r} is not supported here")


def value_problems(schema: Schema, value: object) -> list[str]:
    """What is wrong with one (present, non-null) value."""
    if "enum" in schema:  # the choices say it all, whatever the type of the value given
        return [] if value in schema["enum"] else ["Expected one of: " + ", ".join(map(str, schema["enum"]))]
    expected = schema.get("type")
    if expected is not None and not _is_type(expected, value):
        return [f"Expected {_TYPE_NAMES[expected]}, received {json_type_name(value)}"]
    found: list[str] = []
    if isinstance(value, str):
        too_short = len(value) < schema.get("minLength", 0)
        too_long = "maxLength" in schema and len(value) > schema["maxLength"]
        mismatch = "pattern" in schema and not _whole_match(schema["pattern"]).search(value)
        if (too_short or too_long or mismatch) and "x-message" in schema:
            found.append(schema["x-message"])
        else:
            if too_short or too_long:
                low, high = schema.get("minLength", 0), schema.get("maxLength")
                found.append(f"Must be {low}-{high} characters" if high is not None else f"Must be at least {low} "
                             "characters")
            if mismatch:
                found.append(f"Must match {schema['pattern']}")
    if isinstance(value, int) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                found.append(f"Must be between {low} and {high}")
            elif low is not None:
                found.append(f"Must be at least {low}")
            else:
                found.append(f"Must be at most {high}")
    if isinstance(value, dict) and len(value) < schema.get("minProperties", 0):
        found.append("Must not be empty")
    if isinstance(value, list):
        found.extend(_array_problems(schema, value))
    if isinstance(value, dict | list) and ("x-maxDepth" in schema or "x-integerLimit" in schema):
        found.extend(_nested_problems(value, schema.get("x-maxDepth"), schema.get("x-integerLimit")))
    return found


def _nested_problems(value: dict[str, Any] | list[Any], max_depth: int | None, limit: int | None) -> list[str]:
    """Depth and whole-number range of everything inside a free-form value (without recursion: a value
    nested a thousand deep must not exhaust the stack here)."""
    found: list[str] = []
    too_deep = out_of_range = False
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if max_depth is not None and depth > max_depth:
                too_deep = True
                continue
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
        elif limit is not None and not out_of_range and not isinstance(item, bool):
            if isinstance(item, int) and abs(item) > limit:
                out_of_range = True
    if too_deep:
        found.append(f"Must not nest objects and arrays more than {max_depth} levels deep")
    if out_of_range:
        found.append(f"Whole numbers must be between -{limit} and {limit} (2^53: beyond it JSON numbers "
                     "are not exact); send larger ones as strings")
    return found


def _array_problems(schema: Schema, value: list[Any]) -> list[str]:
    found: list[str] = []
    low, high = schema.get("minItems", 0), schema.get("maxItems")
    if len(value) < low:
        found.append("Must not be empty" if low == 1 else f"Must have at least {low} items")
    if high is not None and len(value) > high:
        found.append(f"Must have at most {high} items")
    if "items" in schema:
        for position, item in enumerate(value, start=1):
            found.extend(f"Item {position}: {problem}" for problem in (
                ["Expected a value, received null"] if item is None else value_problems(schema["items"], item)))
    if schema.get("uniqueItems") and len({_identity(item) for item in value}) < len(value):
        found.append("Must not repeat an item")
    return found


def _identity(value: object) -> str:
    """What uniqueItems compares: the JSON type with the value (so 1 and true stay different)."""
    return repr((json_type_name(value), value))


def problems(schema: Schema, value: object) -> dict[str, list[str]]:
    """Every problem of ``value`` against an object ``schema``, by field (``body`` for the whole)."""
    if not isinstance(value, dict):
        return {BODY: [f"Expected object, received {json_type_name(value)}"]}
    found: dict[str, list[str]] = {}
    properties: Mapping[str, Schema] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if value.get(name) is None:
            found[name] = ["Required"]
    if schema.get("additionalProperties") is False:
        for name in value:
            if name not in properties:
                found[name] = ["Unknown field"]
    for name, sub in properties.items():
        field_value = value.get(name)
        if field_value is not None and (field_problems := value_problems(sub, field_value)):
            found[name] = field_problems
    return found
