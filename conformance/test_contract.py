"""The contract tests: every operation through schemathesis' phases, then the specs' links."""

from __future__ import annotations

import pytest
import schemathesis

schema = schemathesis.pytest.from_fixture("conformance_schema")


@schema.parametrize()
def test_operation(case):
    """Examples, coverage and fuzzing cases for each operation, with every selected check."""
    case.call_and_validate()


def test_links(conform_session):
    """Sequences that follow the spec's links: create, read, change, delete, read again."""
    if "stateful" not in conform_session.settings.phases:
        pytest.skip("stateful phase not selected")
    conform_session.schema.as_state_machine().run()
