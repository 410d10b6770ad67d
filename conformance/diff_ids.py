"""Carrying ids across: what side A calls X, side B calls Y, so A's follow-up about X goes to B
about Y.

Learned from each pair of answers to the same request: every id-like scalar (a field named `id`,
`*_id` or `*uuid`, or any uuid-shaped string) at the same place in both bodies, differing, maps
A's value to B's. A pairing outside arrays (the resource just created or read) is certain and
wins; one inside a list (item i of A's list with item i of B's) only fills a gap, as two worlds'
lists need not hold the same things in the same order.
"""

from __future__ import annotations

import re
import urllib.parse

from .diff_compare import _UUID, shape


def _id_like(name: str, value) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    lowered = name.lower()
    named = lowered == "id" or lowered.endswith("_id") or lowered.endswith("uuid")
    return named or isinstance(value, str) and _UUID.fullmatch(value) is not None


class IdMap:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self._certain: set[str] = set()

    def learn(self, a, b, name: str = "", in_list: bool = False) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in a.keys() & b.keys():
                self.learn(a[key], b[key], str(key), in_list)
        elif isinstance(a, list) and isinstance(b, list):
            for left, right in zip(a, b, strict=False):
                self.learn(left, right, name, True)
        elif _id_like(name, a) and _id_like(name, b) and str(a) != str(b) and shape(a) == shape(b):
            # Same shape only: an id B answers as another type is a difference, not B's id.
            key = str(a)
            if not in_list:
                self.values[key] = str(b)
                self._certain.add(key)
            elif key not in self._certain:
                self.values.setdefault(key, str(b))

    def value(self, value):
        """B's counterpart of one of A's values (same type where it can be), else the value."""
        if isinstance(value, bool) or not isinstance(value, str | int):
            return value
        mapped = self.values.get(str(value))
        if mapped is None:
            return value
        return int(mapped) if isinstance(value, int) and re.fullmatch(r"-?\d+", mapped) else mapped

    def body(self, document):
        if isinstance(document, dict):
            return {key: self.body(item) for key, item in document.items()}
        if isinstance(document, list):
            return [self.body(item) for item in document]
        return self.value(document)

    def path(self, path: str) -> str:
        # Only a mapped segment is rewritten: the others stay byte for byte as sent.
        def one(segment: str) -> str:
            mapped = self.values.get(urllib.parse.unquote(segment))
            return urllib.parse.quote(mapped, safe="") if mapped is not None else segment

        return "/".join(one(segment) for segment in path.split("/"))

    def query(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(name, str(self.value(value))) for name, value in pairs]
