"""A state import, checked whole before anything changes (the admin spec checked its outline).

Besides the outline, each collection's documents must have the stored shape the twin's own code
writes, learnt from a seeded world rather than written down a second time: the fields every
seeded document has, with the JSON types seeded documents hold there; a document keyed by its
own `id`; and an index named after a collection refers to documents that exist. A failure is a
BadRequest naming the first bad place.
"""

from __future__ import annotations

import dataclasses
import time

from apitwin.core.clock import check_instant
from apitwin.core.errors import BadRequest

_TYPE_NAMES = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def _type(value) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


@dataclasses.dataclass
class Shape:
    """What every stored document of one collection looks like, as far as a seed shows."""

    required: set[str]  # in every seeded document
    types: dict[str, set[str]]  # field -> JSON types seen there
    keyed_by_id: bool  # every seeded document's integer key is its `id`

    def problem(self, key, doc: dict) -> str | None:
        for field in sorted(self.required - doc.keys()):
            return f"misses `{field}`"
        for field, value in doc.items():
            seen = self.types.get(field)
            if seen is None or seen == {"null"}:  # a field the seed never shows set: no rule
                continue
            kind = _type(value)
            if kind not in seen and not (kind == "null" and field not in self.required):
                return f"`{field}` is {kind}, stored as {' or '.join(sorted(seen))}"
        if self.keyed_by_id and doc.get("id") != key:
            return f"`id` {doc.get('id')!r} is not its key {key!r}"
        return None


def shapes_of(dump: dict) -> dict[str, Shape]:
    """The shape of each collection a (seeded) dump holds documents in."""
    shapes = {}
    for collection, rows in dump["docs"].items():
        docs = [doc for _, doc in rows]
        if not docs:
            continue
        types: dict[str, set[str]] = {}
        for doc in docs:
            for field, value in doc.items():
                types.setdefault(field, set()).add(_type(value))
        shapes[collection] = Shape(
            required=set.intersection(*(set(doc) for doc in docs)),
            types=types,
            keyed_by_id=all(isinstance(key, int) and doc.get("id") == key for key, doc in rows),
        )
    return shapes


def check_state(data: dict, shapes: dict[str, Shape]) -> None:
    keys = {}
    for collection, rows in data["docs"].items():
        shape = shapes.get(collection)
        keys[collection] = set()
        for at, (key, doc) in enumerate(rows):
            where = f"docs.{collection}[{at}]"
            if not _is_key(key):
                raise BadRequest(f"{where}: a key is a string or an integer, got {key!r}")
            if not isinstance(doc, dict):
                raise BadRequest(f"{where}: a document is an object, got {type(doc).__name__}")
            if shape is not None and (problem := shape.problem(key, doc)):
                raise BadRequest(f"{where} (key {key!r}): {problem}")
            keys[collection].add(key)
    for index, entries in data["indexes"].items():
        # `meiro.workspaces`, `ylem.runs.by_pipeline:<uuid>`: an index of that collection.
        collection = index.split(":", 1)[0]
        if collection not in keys:
            collection = collection.rsplit(".", 1)[0]
        members = keys.get(collection) if collection in shapes else None
        for at, (score, member) in enumerate(entries):
            where = f"indexes.{index}[{at}]"
            if isinstance(score, bool) or not isinstance(score, int | float):
                raise BadRequest(f"{where}: a score is a number, got {score!r}")
            if not _is_key(member):
                raise BadRequest(f"{where}: a member is a string or an integer, got {member!r}")
            if members is not None and member not in members:
                raise BadRequest(f"{where}: {member!r} is no document of {collection}")
    for collection, count in data["sequences"].items():
        numbered = sum(isinstance(key, int) for key in keys.get(collection, ()))
        if count < numbered:
            raise BadRequest(
                f"sequences.{collection}: {count} is fewer than the {numbered} documents numbered"
            )
    meta = data["meta"]
    check_instant(meta["epoch"], "meta.epoch")
    clock = meta.get("clock")
    if clock is not None:
        if clock["frozen_at"] is not None:
            check_instant(clock["frozen_at"], "meta.clock.frozen_at")
        check_instant(time.time() + clock["offset"], "meta.clock.offset: the clock")


def _is_key(value) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
