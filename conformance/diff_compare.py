"""The comparison behind `apitwin diff`: two answers to one request, and what differs.

An answer's body is compared by its structure, not its data: each JSON value is flattened to
the set of (path, shape) it holds, where a path names fields and `[]` for every item of an array
(so an array's shape is the union of its items' shapes) and a shape is the JSON type, strings
told apart by format (uuid, date-time, date, other). Ids, timestamps and generated names then
compare by shape only. The values a request decides compare by value: a field whose name and
value the request sent (body field or query parameter) must be the same field with the request's
value in the other answer, and a list asked for with per_page/limit holds no more items.
Exceptions that keep two deployments with different data equal: an empty array on one side says
nothing about item shapes, a null says nothing about a field's type, a redacted value (a
recording's token) matches any, and object keys that are themselves data (ids, dates, numbers)
count as one key `{key}`.
"""

from __future__ import annotations

import dataclasses
import json
import re

REDACTED = "[REDACTED]"
LIMIT_PARAMETERS = ("per_page", "limit", "page_size", "size")
_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATA_KEY = re.compile(r"\d+|" + _UUID.pattern + "|" + _DATE.pattern + ".*")


@dataclasses.dataclass
class Difference:
    kind: str  # status, content_type, structure, value
    path: str  # where in the body ("" for status and content type)
    message: str


def shape(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"  # JSON has one number type; 2 and 2.5 are the same kind of data
    if isinstance(value, str):
        if _UUID.fullmatch(value):
            return "string(uuid)"
        if _DATETIME.fullmatch(value):
            return "string(date-time)"
        if _DATE.fullmatch(value):
            return "string(date)"
        return "string"
    return "array" if isinstance(value, list) else "object"


@dataclasses.dataclass
class Shapes:
    """What one body holds: shapes per path, and the arrays that had items."""

    types: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    filled: set[str] = dataclasses.field(default_factory=set)  # arrays with at least one item
    nulls: set[str] = dataclasses.field(default_factory=set)


def _key(name: str) -> str:
    return "{key}" if _DATA_KEY.fullmatch(name) else name


def shapes_of(value, path: str = "", into: Shapes | None = None) -> Shapes:
    into = Shapes() if into is None else into
    kind = shape(value)
    if kind == "null":
        into.nulls.add(path)
        return into
    if isinstance(value, str) and value == REDACTED:
        into.types.setdefault(path, set()).add("*")
        return into
    into.types.setdefault(path, set()).add(kind)
    if isinstance(value, dict):
        for name, item in value.items():
            shapes_of(item, f"{path}.{_key(str(name))}", into)
    elif isinstance(value, list):
        if value:
            into.filled.add(path)
        for item in value:
            shapes_of(item, path + "[]", into)
    return into


def _ancestors(path: str):
    for match in re.finditer(r"\[\]|\.", path):
        yield path[: match.start()]


def _unknowable(path: str, other: Shapes) -> bool:
    """Whether `other` cannot say anything about `path`: it had an empty array or a null above."""
    for ancestor in _ancestors(path):
        if ancestor in other.nulls:
            return True
        if (
            path.startswith(ancestor + "[]")
            and ancestor in other.types
            and ancestor not in other.filled
        ):
            return True
    return path in other.nulls


def _shown(path: str) -> str:
    return path.lstrip(".") or "(body)"


def _parent_absent(path: str, other: Shapes) -> bool:
    return any(ancestor and ancestor not in other.types for ancestor in _ancestors(path))


def compare_structure(a, b, required: set[str] | None = None) -> list[Difference]:
    """`required`: the paths the spec requires; a field it leaves optional may be absent on
    either side (whether a job has an `error` time is data). None: every field counts."""
    left, right = shapes_of(a), shapes_of(b)
    found = []
    for path in sorted(set(left.types) | set(right.types)):
        in_a, in_b = left.types.get(path), right.types.get(path)
        if in_a is None and _unknowable(path, left) or in_b is None and _unknowable(path, right):
            continue
        if (in_a is None or in_b is None) and (
            _parent_absent(path, left if in_a is None else right)
            or required is not None
            and path not in required
        ):
            continue
        if in_b is None:
            found.append(Difference("structure", _shown(path), f"{_shown(path)}: only in A"))
        elif in_a is None:
            found.append(Difference("structure", _shown(path), f"{_shown(path)}: only in B"))
        elif "*" not in in_a | in_b and in_a != in_b:
            message = (
                f"{_shown(path)}: {'|'.join(sorted(in_a))} in A, {'|'.join(sorted(in_b))} in B"
            )
            found.append(Difference("structure", _shown(path), message))
    return found


def _leaves(value, path=""):
    """(concrete path, key name, value) of every scalar leaf of a JSON value."""
    if isinstance(value, dict):
        for name, item in value.items():
            if isinstance(item, dict | list):
                yield from _leaves(item, f"{path}.{name}")
            else:
                yield f"{path}.{name}", str(name), item
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")


def decided(request_body, query: list[tuple[str, str]]) -> dict[str, set[str]]:
    """What a request decides: field name -> the values (as text) it sent for that name."""
    sent: dict[str, set[str]] = {}
    for _, name, value in _leaves(request_body):
        if value is not None:
            sent.setdefault(name, set()).add(_text(value))
    for name, value in query:
        sent.setdefault(name, set()).add(value)
    return sent


def _text(value) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def compare_decided(a, b, sent_a, sent_b) -> list[Difference]:
    """A field the request decided in answer A must hold B's request value in answer B."""
    b_leaves = {path: value for path, _, value in _leaves(b)}
    found = []
    for path, name, value in _leaves(a):
        if name not in sent_a or _text(value) not in sent_a[name] or path not in b_leaves:
            continue
        other = b_leaves[path]
        if other is not None and _text(other) not in sent_b.get(name, set()):
            message = f"{_shown(path)}: the request's {value!r} in A, {other!r} in B"
            found.append(Difference("value", _shown(path), message))
    return found


def _arrays(value, path="", depth=0):
    if depth > 2:
        return
    if isinstance(value, list):
        yield path, len(value)
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _arrays(item, f"{path}.{name}", depth + 1)


def compare_limits(a, b, query: list[tuple[str, str]]) -> list[Difference]:
    """A list asked for with a limit holds no more than that on either side."""
    limits = [int(v) for k, v in query if k in LIMIT_PARAMETERS and v.isdigit() and int(v) > 0]
    if not limits:
        return []
    limit = min(limits)
    over_a = {path for path, count in _arrays(a) if count > limit}
    found = []
    for path, count in _arrays(b):
        if count > limit and path not in over_a:
            message = f"{_shown(path)}: {count} items in B for a limit of {limit}"
            found.append(Difference("value", _shown(path), message))
    return found


@dataclasses.dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    @property
    def media_type(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    def json(self):
        if "json" not in self.media_type or not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def compare(a: Answer, b: Answer, sent_a, sent_b, query, required=None) -> list[Difference]:
    """Every difference between answer A and answer B (sent_*: `decided` of each side's
    request; required: the spec's required paths for this answer, None if it has no schema)."""
    if a.status != b.status:
        return [Difference("status", "", f"status {a.status} in A, {b.status} in B")]
    if a.media_type != b.media_type:
        message = f"content type {a.media_type or 'none'} in A, {b.media_type or 'none'} in B"
        return [Difference("content_type", "", message)]
    body_a, body_b = a.json(), b.json()
    if body_a is None or body_b is None:
        return []
    return (
        compare_structure(body_a, body_b, required)
        + compare_decided(body_a, body_b, sent_a, sent_b)
        + compare_limits(body_a, body_b, query)
    )
