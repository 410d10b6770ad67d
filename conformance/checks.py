"""The suite's own refinements of schemathesis checks, registered under the checks' own names.

`use_after_free`: schemathesis flags any successful read below a path a DELETE freed earlier in
the same stateful scenario, unless a POST or PUT re-created it at that path. An API whose DELETE
moves a resource to a trash (Meiro, decision M16) can bring it back through another path, and
its spec says so with a link from the DELETE (`RestoreTrashedWorkspace`). A write that followed
such a link and succeeded, between the DELETE and the read, is a re-creation too; without this
the check failed at random, whenever the scenario happened to restore before reading.
"""

from __future__ import annotations

import schemathesis
from schemathesis.checks import CHECKS
from schemathesis.openapi.checks import UseAfterFree
from schemathesis.specs.openapi import checks as openapi_checks

_READS = frozenset({"get", "head", "options"})


def _restored(ctx, deleted_case_id: str, current_case_id: str) -> bool:
    """Whether a successful write that the spec links from the DELETE ran after it and before
    the current case."""
    after_delete = False
    for case in ctx.internals.find_all_cases():
        if case.id == current_case_id:
            return False
        if case.id == deleted_case_id:
            after_delete = True
            continue
        if not after_delete or case.operation.method.lower() in _READS:
            continue
        parent = ctx.internals.find_parent(case_id=case.id)
        response = ctx.internals.find_response(case_id=case.id)
        if (
            parent is not None
            and parent.id == deleted_case_id
            and response is not None
            and 200 <= response.status_code < 300
        ):
            return True
    return False


def _refine_use_after_free() -> None:
    builtin = openapi_checks.use_after_free
    if getattr(CHECKS.get_one("use_after_free"), "refined_by_apitwin", False):
        return  # already installed (the module was imported again)

    def use_after_free(ctx, response, case):
        try:
            return builtin(ctx, response, case)
        except UseAfterFree as failure:
            if failure.deleted_case_id and _restored(ctx, failure.deleted_case_id, case.id):
                return None
            raise

    use_after_free.refined_by_apitwin = True
    use_after_free.__doc__ = builtin.__doc__
    CHECKS.unregister("use_after_free")
    schemathesis.check(use_after_free)


_refine_use_after_free()
