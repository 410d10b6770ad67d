"""The documented shapes of a workspace answer, read from the spec rather than restated.

The spec describes one set of workspace fields (`WorkspaceFields`) and shapes that differ in
which of them they carry (M9): a full `Workspace` carries them all, the others their `required`
list. A workspace row from the state layer is cut to the shape an operation answers.
"""

from __future__ import annotations

import operator

from apitwin.apis import APIS
from apitwin.apis.spec_index import load_spec

_PARTIAL = ("NewWorkspace", "TrashedWorkspace", "RestoredWorkspace")


def _required(schema: dict) -> list[str]:
    names = list(schema.get("required", ()))
    for part in schema.get("allOf", ()):
        names += [name for name in _required(part) if name not in names]
    return names


def _one(names: tuple[str, ...]):
    return lambda row: tuple(row[name] for name in names)


class WorkspaceShapes:
    def __init__(self, spec: dict) -> None:
        schemas = spec["components"]["schemas"]
        every = tuple(schemas["WorkspaceFields"]["properties"])
        self._fields = {"Workspace": every}
        for shape in _PARTIAL:
            wanted = set(_required(schemas[shape]))
            self._fields[shape] = tuple(name for name in every if name in wanted)
        # The values of a shape's fields in one C call: itemgetter gives a tuple for two or more.
        self._getters = {
            shape: (names, operator.itemgetter(*names) if len(names) > 1 else _one(names))
            for shape, names in self._fields.items()
        }

    @classmethod
    def load(cls) -> WorkspaceShapes:
        return cls(load_spec(APIS["meiro"].spec))

    def cut(self, shape: str, row: dict) -> dict:
        """The row's fields of the shape, in the spec's order (a list answers 20 rows)."""
        fields, values = self._getters[shape]
        return dict(zip(fields, values(row), strict=True))
