"""Bad input to the admin API gets a 400 and changes nothing: a state import is checked whole,
the clock stays where a date can be written, fault rules refuse NaN, and the landing page
escapes what it shows."""

from __future__ import annotations

import json

import pytest

MEIRO = {"X-Access-Token": "twin-token"}


def _state(twin) -> dict:
    answer = twin.get("/_twin/state")
    assert answer.status_code == 200
    return answer.json()


def _still_serving(twin) -> None:
    assert twin.get("/meiro/workspaces", headers=MEIRO).status_code == 200
    assert twin.get("/director/api/workflows").status_code == 200
    assert twin.get("/_twin/clock").status_code == 200


def _first_key(state: dict, collection: str):
    return state["docs"][collection][0][0]


@pytest.mark.parametrize(
    ("break_it", "named"),
    [
        (lambda s: s["meta"].update(clock="garbage"), "clock"),
        (lambda s: s["meta"].update(clock={"offset": 1e300, "frozen_at": None}), "meta.clock"),
        (lambda s: s["meta"].update(clock={"offset": 0, "frozen_at": 1e18}), "frozen_at"),
        (lambda s: s["meta"].update(epoch="abc"), "epoch"),
        (lambda s: s["meta"].update(epoch=1e300), "meta.epoch"),
        (lambda s: s["meta"].update(seed="<script>alert(1)</script>"), "seed"),
        (lambda s: s["meta"].pop("seed"), "seed"),
        (lambda s: s["docs"]["meiro.workspaces"][0].__setitem__(1, "not a document"), "docs"),
        (lambda s: s["docs"]["meiro.workspaces"][0].__setitem__(0, [1]), "docs"),
        (lambda s: s["docs"]["meiro.workspaces"].append([1, 2, 3]), "docs"),
        (lambda s: s["indexes"]["ylem.pipelines"].append(["x", 1]), "indexes.ylem.pipelines"),
        (lambda s: s["sequences"].update({"meiro.workspaces": -1}), "sequences"),
        (lambda s: s["sequences"].update({"meiro.workspaces": 2**63}), "sequences"),
        # Documents in their stored shape, indexes and sequences that agree with them.
        (lambda s: s["docs"]["meiro.workspaces"][0][1].pop("name"), "misses `name`"),
        (lambda s: s["docs"]["meiro.workspaces"][0][1].update(name=7), "`name` is number"),
        (lambda s: s["docs"]["meiro.workspaces"][0][1].update(name=None), "`name` is null"),
        (lambda s: s["docs"]["meiro.workspaces"][0][1].update(id=99999), "is not its key"),
        (lambda s: s["docs"]["director.workflows"][0][1].update(tasks={}), "`tasks` is object"),
        (lambda s: s["docs"]["ylem.runs"][0][1].pop("pipeline_uuid"), "docs.ylem.runs[0]"),
        (lambda s: s["indexes"]["meiro.workspaces"].append([1, 999999]), "no document of"),
        (lambda s: s["sequences"].update({"meiro.workspaces": 3}), "sequences.meiro.workspaces"),
    ],
)
def test_a_broken_import_is_a_400_naming_the_place_and_changes_nothing(twin, break_it, named):
    exported = twin.get("/_twin/state")
    assert exported.status_code == 200
    # A second parse of the text is the copy to break: far quicker than deepcopy of the world.
    broken = json.loads(exported.content)
    break_it(broken)
    answer = twin.put("/_twin/state", json=broken)
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["detail"], answer.json()
    after = twin.get("/_twin/state")
    assert after.status_code == 200
    # The same text is the same state; only a different text needs parsing to compare.
    assert after.content == exported.content or after.json() == exported.json()
    _still_serving(twin)


def test_a_good_import_still_lands(twin):
    state = _state(twin)
    key = _first_key(state, "meiro.workspaces")
    state["docs"]["meiro.workspaces"][0][1]["name"] = "Imported name"
    assert twin.put("/_twin/state", json=state).status_code == 200
    read = twin.get(f"/meiro/workspaces/{key}", headers=MEIRO).json()["workspace"]
    assert read["name"] == "Imported name"


@pytest.mark.parametrize(
    "body",
    [
        b'{"advance_seconds": NaN}',
        b'{"advance_seconds": Infinity}',
        b'{"advance_seconds": 1e300}',
        b'{"set": "9999-12-31T23:59:59Z"}',
        b'{"set": "0001-01-01T00:00:00Z"}',
    ],
)
def test_the_clock_refuses_instants_it_cannot_show(twin, body):
    twin.post("/_twin/clock", json={"freeze": True})
    before = twin.get("/_twin/clock").json()
    answer = twin.post("/_twin/clock", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert twin.get("/_twin/clock").json() == before
    _still_serving(twin)


def test_years_before_1000_keep_four_digits(twin):
    answer = twin.post("/_twin/clock", json={"freeze": True, "set": "0224-11-27T03:18:39Z"})
    assert answer.status_code == 200
    assert answer.json()["now"] == "0224-11-27T03:18:39Z"
    _still_serving(twin)  # every answer still matches the specs' date patterns


@pytest.mark.parametrize("body", [b'{"effect": "drop", "rate": NaN}'])
def test_a_fault_rule_refuses_nan(twin, body):
    answer = twin.post("/_twin/faults", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert twin.get("/_twin/faults").json() == {"faults": []}
    _still_serving(twin)


def test_the_landing_page_escapes_the_seed():
    from support import in_process

    from apitwin.app import create_app
    from apitwin.options import TwinOptions

    app = create_app(TwinOptions(epoch="2026-11-01"))
    app.twin.default_world.store.meta_set("seed", "<script>alert(1)</script>")
    with in_process(app) as client:
        page = client.get("/").text
    # The console reads the seed from its JSON settings (and shows it as text): no "<" there.
    assert "<script>alert(1)" not in page
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in page
