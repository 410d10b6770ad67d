"""Director's rules: definitions, starting and relaunching instances, reading and paging them."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from apitwin.apis.director import definitions, lifecycle
from apitwin.core.draws import uuid_for
from apitwin.core.errors import BadRequest, NotFound
from apitwin.core.memo import InstantMemo

DEFINITIONS = "director.definitions"  # fullname -> definition (workflows.yml entry)
WORKFLOWS = "director.workflows"  # sequence key -> instance record
WORKFLOW_KEYS = "director.workflow_keys"  # instance id -> {"key": sequence key}
BY_CREATED = "director.workflows.by_created"  # sequence keys scored by creation time
SEQUENCE = "director.workflows"

# Views by stored text and (whole second, seed): an instance's view is a pure function of its
# record, the seed and the second it is read at (server/core/memo.py), so a list polled many
# times a second evaluates each instance's run once per second.
_VIEWS = InstantMemo()
# What a reader makes of the views (a pure function of one, such as an API answer's row), by
# that function, then as the views: the same keys, so the same soundness.
_SHAPED: dict[Callable[[dict], object], InstantMemo] = {}


def _sequence_key(number: int) -> str:
    # Zero-padded so that instances created in the same second list in creation order in any
    # backend's ordered index (ties are broken by member).
    return f"{number:012d}"


def _not_found(message: str) -> NotFound:
    return NotFound(message, error=message)


class DirectorState:
    def __init__(self, world) -> None:
        self.world = world
        self.store = world.store

    # definitions ------------------------------------------------------------------------
    def add_definition(self, fullname: str, definition: dict) -> None:
        definitions.check(fullname, definition)
        # The fullname is kept inside too: a scan yields documents, not their keys.
        self.store.put(DEFINITIONS, fullname, {"fullname": fullname, "definition": definition})

    def definitions(self) -> list[tuple[str, dict]]:
        """Every definition, by fullname (a handful: a scan is fine)."""
        docs = sorted(self.store.scan(DEFINITIONS), key=lambda doc: doc["fullname"])
        return [(doc["fullname"], doc["definition"]) for doc in docs]

    def definition(self, project: str, name: str) -> dict:
        doc = self.store.get(DEFINITIONS, f"{project}.{name}")
        if doc is None:
            raise _not_found(f"Workflow {project}.{name} not found")
        return doc["definition"]

    # instances --------------------------------------------------------------------------
    def start(
        self,
        project: str,
        name: str,
        payload: dict,
        comment: str | None = None,
        *,
        periodic: bool = False,
        created: float | None = None,
        instance_id: str | None = None,
        task_ids: list[str] | None = None,
    ) -> dict:
        """A new instance of `project.name`, as Director's POST does it: definition known,
        payload valid, then the instance and all its tasks are created `pending`.

        Fixtures also pass the creation time and, for the documented example, the ids."""
        definition = self.definition(project, name)
        errors = definitions.payload_errors(definition, payload)
        if errors:
            raise BadRequest(
                f"Payload is not valid: {'; '.join(errors)}",
                error="Payload is not valid",
                errors=errors,
            )
        key = _sequence_key(self.store.next_id(SEQUENCE))
        instance_id = instance_id or uuid_for(self.world.seed, "director.workflow", key)
        # SQLite keeps whole seconds (D6): the record holds exactly what is shown.
        created = math.floor(self.world.clock.now() if created is None else created)
        graph = definitions.task_graph(definition)
        ids = task_ids or [
            uuid_for(self.world.seed, "director.task", instance_id, n) for n in range(len(graph))
        ]
        record = {
            "id": instance_id,
            "project": project,
            "name": name,
            "payload": payload,
            "periodic": periodic,
            "created": created,
            "tasks": [
                {"id": ids[n], "key": task_key, "previous": [ids[p] for p in waits_for]}
                for n, (task_key, waits_for) in enumerate(graph)
            ],
        }
        if comment is not None:
            record["comment"] = comment
        self.store.put(WORKFLOWS, key, record)
        self.store.put(WORKFLOW_KEYS, instance_id, {"key": key})
        self.store.index_add(BY_CREATED, key, created)
        return self._view(record)

    def relaunch(self, workflow_id: str) -> dict:
        """A new instance of the same definition, payload and comment (Director's relaunch)."""
        record = self._record(workflow_id)
        return self.start(
            record["project"], record["name"], record["payload"], record.get("comment")
        )

    def get(self, workflow_id: str) -> dict:
        """The instance's view: shared with other readers (the lists' memo), never to change."""
        return self._views([self._key(workflow_id)])[0]

    def page(self, page: int, per_page: int, shape: Callable[[dict], object] | None = None) -> list:
        """Newest first; a page after the last one is a 404, page 1 is never one (D2). With
        `shape`, a pure function of a view, the shapes of the views (kept as the views are)."""
        offset = (page - 1) * per_page
        keys = self.store.index_page(BY_CREATED, offset, per_page, descending=True)
        if not keys and page > 1:
            # No `error` field: Director sends Flask's plain 404 message here (errors.py).
            raise NotFound(f"Page {page} is after the last page")
        return self._views(keys, shape)

    # what happens outside the API (the undocumented cancel route, a worker that dies) -------
    def cancel(self, workflow_id: str, at: float) -> None:
        self._amend(workflow_id, canceled=math.floor(at))

    def halt(self, workflow_id: str, at: float) -> None:
        """The worker running this instance is lost at `at`: nothing moves after that."""
        self._amend(workflow_id, halted=math.floor(at))

    def _amend(self, workflow_id: str, **facts) -> None:
        key = self._key(workflow_id)
        record = self.store.get(WORKFLOWS, key)
        record.update(facts)
        self.store.put(WORKFLOWS, key, record)

    # reading -----------------------------------------------------------------------------
    def _key(self, workflow_id: str) -> str:
        found = self.store.get(WORKFLOW_KEYS, workflow_id.lower())  # Director: any letter case
        if found is None:
            raise _not_found(f"Workflow {workflow_id} not found")
        return found["key"]

    def _record(self, workflow_id: str) -> dict:
        return self.store.get(WORKFLOWS, self._key(workflow_id))

    def _views(self, keys: list[str], shape: Callable[[dict], object] | None = None) -> list:
        """The views of the instances stored under `keys`, all read at one instant with one seed:
        each computed once per stored text, second and seed, shared between readers, so never
        changed in place. With `shape`, what it makes of each view, kept the same way.

        Read at the clock's whole second: Director keeps whole seconds (D6), so every instant a
        run changes at (its record's times plus whole-second delays) is a whole second, and a view
        at the second is the view at any instant within it. (A record imported with fractions of a
        second shows each change at the whole second after it.)"""
        instant = (math.floor(self.world.clock.now()), self.world.seed)
        texts = self.store.get_many_raw(WORKFLOWS, keys)

        def view(text: bytes) -> dict:
            return _VIEWS.get(text, instant, lambda: self._view(json.loads(text), *instant))

        if shape is None:
            return [view(text) for text in texts]
        shaped = _SHAPED.get(shape) or _SHAPED.setdefault(shape, InstantMemo())
        return [shaped.get(text, instant, lambda text=text: shape(view(text))) for text in texts]

    def _view(self, record: dict, now: float | None = None, seed: int | None = None) -> dict:
        """The record with its status, times and task states at `now` (the clock's now)."""
        now = self.world.clock.now() if now is None else now
        seed = self.world.seed if seed is None else seed
        state = lifecycle.evaluate(record, now, seed)
        tasks = [
            {
                "id": task["id"],
                "key": task["key"],
                "previous": task["previous"],
                "status": task_state.status,
                "created": record["created"],
                "updated": task_state.updated,
                "result": task_state.result,
            }
            for task, task_state in zip(record["tasks"], state.tasks, strict=True)
        ]
        return {
            "id": record["id"],
            "project": record["project"],
            "name": record["name"],
            "payload": record["payload"],
            "periodic": record["periodic"],
            "comment": record.get("comment"),
            "created": record["created"],
            "updated": state.updated,
            "status": state.status,
            "tasks": tasks,
        }
