"""Workflow definitions in Director's `workflows.yml` form, and the task graph each one yields."""

from __future__ import annotations

from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

PERIODIC_SCHEDULES = ("interval", "crontab", "schedule")


class DefinitionError(ValueError):
    """A definition Director itself would refuse to load or run."""


def split_fullname(fullname: str) -> tuple[str, str]:
    project, dot, name = fullname.partition(".")
    if not (project and dot and name):
        raise DefinitionError(f"{fullname!r} is not of the form project.name")
    return project, name


def check(fullname: str, definition: dict) -> None:
    """Raises DefinitionError unless the definition can be started."""
    split_fullname(fullname)
    if not isinstance(definition, dict) or not isinstance(definition.get("tasks"), list):
        raise DefinitionError(f"{fullname}: `tasks` must be a list")
    if not definition["tasks"]:
        raise DefinitionError(f"{fullname}: `tasks` is empty")
    for item in definition["tasks"]:
        _check_item(fullname, item)
    if "schema" in definition:
        schema = definition["schema"]
        try:
            validator_for(schema).check_schema(schema)
        except SchemaError as exc:
            raise DefinitionError(f"{fullname}: invalid payload schema: {exc.message}") from None
    periodic = definition.get("periodic")
    if periodic is not None and (
        not isinstance(periodic, dict)
        or not any(key in periodic for key in PERIODIC_SCHEDULES)
        or not isinstance(periodic.get("payload", {}), dict)
    ):
        raise DefinitionError(f"{fullname}: `periodic` needs a schedule and an object payload")


def _check_item(fullname: str, item) -> None:
    if isinstance(item, str) and item:
        return
    if isinstance(item, dict) and len(item) == 1:
        group = next(iter(item.values()))
        if (
            isinstance(group, dict)
            and group.get("type") == "group"
            and isinstance(group.get("tasks"), list)
            and group["tasks"]
            and all(isinstance(key, str) and key for key in group["tasks"])
        ):
            return
    raise DefinitionError(f"{fullname}: {item!r} is neither a task name nor a group of tasks")


def task_graph(definition: dict) -> list[tuple[str, list[int]]]:
    """(task key, indexes of the tasks it waits for) in the order Director creates the tasks.

    As Director's builder does: a task waits for the item before it; a group's tasks all wait
    for that item and run in parallel; the item after a group waits for every task of it.
    """
    graph: list[tuple[str, list[int]]] = []
    previous: list[int] = []
    for item in definition["tasks"]:
        if isinstance(item, str):
            graph.append((item, previous))
            previous = [len(graph) - 1]
        else:
            group = next(iter(item.values()))
            first = len(graph)
            graph.extend((key, previous) for key in group["tasks"])
            previous = list(range(first, len(graph)))
    return graph


def task_keys(definition: dict) -> list[str]:
    return [key for key, _ in task_graph(definition)]


def payload_errors(definition: dict, payload: dict) -> list[str]:
    """Messages for every way `payload` breaks the definition's schema (none without one).

    Director validates with the schema's own draft and no format checker; so does the twin.
    """
    schema = definition.get("schema")
    if schema is None:
        return []
    validator = validator_for(schema)(schema)
    return [error.message for error in validator.iter_errors(payload)]
