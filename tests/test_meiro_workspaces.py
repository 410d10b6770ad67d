"""Meiro twin, the workspace story: create and read back, list selections, history and revert,
trash and restore, clone, owner, bulk update, data deletion, dawg lists, determinism."""

from __future__ import annotations

import pytest

M = "/meiro"
ALL = {"limit": 1000}


@pytest.fixture
def api(twin):
    twin.headers["X-Access-Token"] = "twin-token"
    return twin


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def listed(api, path: str = "/workspaces", **params) -> list[dict]:
    return ok(api.get(M + path, params={**ALL, **params}))


def ids(rows: list[dict]) -> list[int]:
    return [row["id"] for row in rows]


def test_create_answers_201_and_reads_back(api):
    sent = {
        "name": "Orders import",
        "description": "nightly orders",
        "settings": {"schedules": [{"minute": "*/15"}], "custom_key": [1, 2]},
        "disabled": 1,
    }
    created = ok(api.post(M + "/workspaces", json=sent), 201)["workspace"]
    assert {key: created[key] for key in sent} == sent
    assert created["deleted"] == 0 and created["disk_usage"] == 0
    assert created["dawg_id"] is None and created["frontend_settings"] == {}
    assert "last_run" not in created  # the documented create answer has no activity fields
    read = ok(api.get(f"{M}/workspaces/{created['id']}"))["workspace"]
    assert {key: read[key] for key in created} == created
    assert read["last_run"] is None and read["last_run_duration"] is None
    assert read["tags"] == [] and read["author_id"] == 200
    newest = listed(api, order_dir="DESC", limit=1)["workspaces"][0]
    assert newest == read


def test_create_defaults_the_optional_fields(api):
    created = ok(api.post(M + "/workspaces", json={"name": "bare"}), 201)["workspace"]
    assert (created["settings"], created["description"], created["disabled"]) == ({}, "", 0)


def test_list_defaults_are_echoed(api):
    body = ok(api.get(M + "/workspaces"))
    assert body["selection_settings"] == {
        "limit": 20,
        "offset": None,
        "order_by": "id",
        "order_dir": "ASC",
        "name_filter": None,
        "tag_ids": None,
        "show_enabled": True,
        "show_disabled": True,
    }
    assert len(body["workspaces"]) == 20
    assert ids(body["workspaces"]) == sorted(ids(body["workspaces"]))
    assert all(row["deleted"] == 0 for row in body["workspaces"])


def test_list_pages_are_slices_of_the_whole(api):
    every = ids(listed(api)["workspaces"])
    assert len(every) > 25
    page = ok(api.get(M + "/workspaces", params={"limit": 3, "offset": 5}))
    assert ids(page["workspaces"]) == every[5:8]
    assert page["selection_settings"]["offset"] == 5
    backwards = ok(api.get(M + "/workspaces", params={"limit": 4, "order_dir": "DESC"}))
    assert ids(backwards["workspaces"]) == every[::-1][:4]
    past_the_end = ok(api.get(M + "/workspaces", params={"offset": len(every)}))
    assert past_the_end["workspaces"] == []


def test_list_filters_by_name_and_tags(api):
    for name in ("Zebra Feed alpha", "zebra feed BETA", "zebrafeed gamma"):
        ok(api.post(M + "/workspaces", json={"name": name}), 201)
    body = listed(api, name_filter="ZEBRA FEED")
    assert [row["name"] for row in body["workspaces"]] == ["Zebra Feed alpha", "zebra feed BETA"]
    assert body["selection_settings"]["name_filter"] == "ZEBRA FEED"
    ordered = listed(api, name_filter="zebra", order_by="name", order_dir="DESC", offset=1)
    assert [row["name"] for row in ordered["workspaces"]] == ["zebra feed BETA", "Zebra Feed alpha"]

    every = listed(api)["workspaces"]
    tagged = [row["id"] for row in every if {2, 5} & set(row["tags"])]
    assert tagged, "the seeded world has tagged workspaces"
    body = ok(api.get(M + "/workspaces?limit=1000&tag_ids=2&tag_ids=5"))
    assert ids(body["workspaces"]) == tagged
    assert body["selection_settings"]["tag_ids"] == [2, 5]
    second_page = ok(api.get(M + "/workspaces?limit=2&offset=1&tag_ids=2&tag_ids=5"))
    assert ids(second_page["workspaces"]) == tagged[1:3]


def test_list_shows_enabled_and_disabled_on_request(api):
    enabled = listed(api, show_disabled="false")
    assert enabled["workspaces"] and all(r["disabled"] == 0 for r in enabled["workspaces"])
    assert enabled["selection_settings"]["show_disabled"] is False
    disabled = listed(api, show_enabled="false")
    assert disabled["workspaces"] and all(r["disabled"] == 1 for r in disabled["workspaces"])
    every = listed(api)["workspaces"]
    assert len(enabled["workspaces"]) + len(disabled["workspaces"]) == len(every)
    assert listed(api, show_enabled="false", show_disabled="false")["workspaces"] == []


@pytest.mark.parametrize("column", ["name", "disk_usage", "last_run", "created", "dawg_id"])
def test_list_orders_by_a_column(api, column):
    rows = listed(api, order_by=column, order_dir="DESC")["workspaces"]
    values = [(row[column] is not None, row[column] or 0, row["id"]) for row in rows]
    assert values == sorted(values, reverse=True)


def test_patch_records_history_linked_to_the_entry_before(api):
    workspace = ok(api.post(M + "/workspaces", json={"name": "v1"}), 201)["workspace"]
    path = f"{M}/workspaces/{workspace['id']}"
    assert ok(api.get(path + "/history"))["history_list"] == [
        {"id": None, "workspace": ok(api.get(path + "/history"))["history_list"][0]["workspace"]}
    ]
    ok(api.patch(path, json={"name": "v2", "description": "second"}))
    changed = ok(api.patch(path, json={"name": "v3"}))["workspace"]
    assert changed["name"] == "v3" and changed["description"] == "second"

    history = ok(api.get(path + "/history"))
    entries = history["history_list"]
    assert [e["id"] is None for e in entries] == [True, False, False]
    assert [e["workspace"]["name"] for e in entries] == ["v3", "v1", "v2"]
    current, first, second = entries
    assert current["previous_history"] == {"id": second["id"], "workspace": second["workspace"]}
    assert second["previous_history"] == {"id": first["id"], "workspace": first["workspace"]}
    assert "previous_history" not in first
    assert history["selection_settings"] == {
        "limit": 20,
        "offset": None,
        "order_by": "id",
        "order_dir": "ASC",
    }
    newest_first = ok(api.get(path + "/history", params={"order_dir": "DESC"}))["history_list"]
    assert [e["workspace"]["name"] for e in newest_first] == ["v3", "v2", "v1"]
    paged = ok(api.get(path + "/history", params={"offset": 1, "limit": 1}))["history_list"]
    assert paged == [first]

    item = ok(api.get(f"{path}/history/{second['id']}"))["history"]
    assert item == second


def test_the_documented_workspace_and_its_history_are_seeded(api):
    workspace = ok(api.get(M + "/workspaces/100"))["workspace"]
    assert workspace["name"] == "example workspace" and workspace["dawg_id"] == 100
    assert workspace["input_settings"] == {"inputs": [500, 600]}
    assert (workspace["user_id"], workspace["author_id"]) == (200, 400)
    entry = ok(api.get(M + "/workspaces/100/history/100"))["history"]
    assert entry["workspace"]["name"] == "test"


def test_revert_restores_an_entry_and_is_itself_recorded(api):
    workspace = ok(api.post(M + "/workspaces", json={"name": "original"}), 201)["workspace"]
    path = f"{M}/workspaces/{workspace['id']}"
    ok(api.patch(path, json={"name": "changed", "disabled": 1}))
    [_, stored] = ok(api.get(path + "/history"))["history_list"]

    reverted = ok(api.patch(f"{path}/history/{stored['id']}"))["workspace"]
    assert reverted["name"] == "original" and reverted["disabled"] == 0
    assert "deleted" not in reverted  # the snapshot shape the document shows
    assert ok(api.get(path))["workspace"]["name"] == "original"
    entries = ok(api.get(path + "/history"))["history_list"]
    assert [e["workspace"]["name"] for e in entries] == ["original", "original", "changed"]
    assert entries[0]["previous_history"]["workspace"]["name"] == "changed"


def test_delete_moves_to_the_trash_and_restore_brings_back(api):
    workspace = ok(api.post(M + "/workspaces", json={"name": "to trash"}), 201)["workspace"]
    path = f"{M}/workspaces/{workspace['id']}"
    assert ok(api.delete(path)) == {"message": "OK"}

    for method, route in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", ""),
        ("GET", "/history"),
        ("GET", "/jobs"),
        ("POST", "/jobs"),
        ("DELETE", "/data"),
    ]:
        body = {"name": "x"} if method == "PATCH" else None
        response = api.request(method, path + route, json=body)
        assert response.status_code == 404, (method, route, response.text)
        assert response.json()["message"] == f"Workspace {workspace['id']} not found"
    assert workspace["id"] not in ids(listed(api)["workspaces"])
    trash = listed(api, "/workspaces/trash")["trashed_workspaces"]
    [trashed] = [row for row in trash if row["id"] == workspace["id"]]
    assert trashed["deleted"] == 1 and trashed["name"] == "to trash"

    restored = ok(api.patch(f"{M}/workspaces/trash/{workspace['id']}"))["workspace"]
    assert restored["deleted"] == 0 and restored["name"] == "to trash"
    assert ok(api.get(path))["workspace"]["deleted"] == 0
    assert workspace["id"] in ids(listed(api)["workspaces"])
    assert workspace["id"] not in ids(listed(api, "/workspaces/trash")["trashed_workspaces"])
    again = api.patch(f"{M}/workspaces/trash/{workspace['id']}")
    assert again.status_code == 404 and "not in the trash" in again.json()["message"]


def test_clone_copies_under_a_new_id(api):
    original = ok(api.get(M + "/workspaces/100"))["workspace"]
    clone = ok(api.post(M + "/workspaces/100"))["workspace"]
    assert clone["id"] != 100 and clone["name"] == "clone_example workspace"
    for key in ("settings", "description", "dawg_id", "input_settings", "tags", "user_id"):
        assert clone[key] == original[key], key
    assert clone["disk_usage"] == 0 and clone["last_run"] is None
    assert ok(api.get(f"{M}/workspaces/{clone['id']}"))["workspace"] == clone
    assert ok(api.get(M + "/workspaces/100"))["workspace"] == original
    history = ok(api.get(f"{M}/workspaces/{clone['id']}/history"))["history_list"]
    assert len(history) == 1
    assert clone["id"] in ids(listed(api, "/dawgs/100/workspaces")["workspaces"])


def test_owner_change_is_recorded(api):
    changed = ok(api.patch(M + "/workspaces/100/owner", json={"user_id": 0}))["workspace"]
    assert changed["user_id"] == 0 and changed["author_id"] == 400
    current, newest = ok(api.get(M + "/workspaces/100/history?order_dir=DESC"))["history_list"][:2]
    assert current["workspace"]["user_id"] == 0 and newest["workspace"]["user_id"] == 200


def test_bulk_update_changes_every_listed_workspace(api):
    first = ok(api.post(M + "/workspaces", json={"name": "bulk one"}), 201)["workspace"]
    second = ok(api.post(M + "/workspaces", json={"name": "bulk two"}), 201)["workspace"]
    body = [
        {"id": second["id"], "name": "bulk two renamed", "dawg_id": 101, "workspace_id": 7},
        {"id": first["id"], "continue_on_failure": 1, "input_settings": {"inputs": [501]}},
    ]
    answer = ok(api.patch(M + "/workspaces", json=body))
    assert set(answer) == {"workspaces"}
    renamed, tuned = answer["workspaces"]
    assert (renamed["id"], renamed["name"]) == (second["id"], "bulk two renamed")
    assert renamed["dawg_id"] == 101
    assert (tuned["id"], tuned["continue_on_failure"]) == (first["id"], 1)
    assert tuned["input_settings"] == {"inputs": [501]}
    assert second["id"] in ids(listed(api, "/dawgs/101/workspaces")["workspaces"])
    history = ok(api.get(f"{M}/workspaces/{second['id']}/history"))["history_list"]
    assert [e["workspace"]["name"] for e in history] == ["bulk two renamed", "bulk two"]


@pytest.mark.parametrize(
    ("wrong", "message"),
    [({"id": 999_999}, "Workspace 999999 not found"), ({"id": 100, "dawg_id": 999}, "Dawg 999")],
)
def test_bulk_update_is_all_or_nothing(api, wrong, message):
    before = ok(api.get(M + "/workspaces/101"))["workspace"]
    response = api.patch(M + "/workspaces", json=[{"id": 101, "name": "changed"}, wrong])
    assert response.status_code == 404 and message in response.json()["message"]
    assert ok(api.get(M + "/workspaces/101"))["workspace"] == before
    assert ok(api.get(M + "/workspaces/100"))["workspace"]["name"] == "example workspace"


def test_delete_data_resets_disk_usage(api):
    before = ok(api.get(M + "/workspaces/100"))["workspace"]
    assert before["disk_usage"] > 0
    assert ok(api.delete(M + "/workspaces/100/data")) == {"message": "ok"}
    after = ok(api.get(M + "/workspaces/100"))["workspace"]
    assert after["disk_usage"] == 0 and after["high_disk_usage"] == 0
    assert after["last_run"] == before["last_run"]


def test_dawg_workspaces_lists_the_dawgs_live_members(api):
    body = listed(api, "/dawgs/101/workspaces")
    members = body["workspaces"]
    assert members and all(row["dawg_id"] == 101 for row in members)
    assert set(body["selection_settings"]) == {"limit", "offset", "order_by", "order_dir"}
    ok(api.delete(f"{M}/workspaces/{members[0]['id']}"))
    assert members[0]["id"] not in ids(listed(api, "/dawgs/101/workspaces")["workspaces"])


def test_the_same_seed_gives_the_same_world(api):
    api.post("/_twin/clock", json={"freeze": True, "set": "2026-11-20T00:00:00Z"})
    first = api.get(M + "/workspaces?limit=1000").content
    api.post("/_twin/reset", json={"seed": 1337})
    api.post("/_twin/clock", json={"freeze": True, "set": "2026-11-20T00:00:00Z"})
    assert api.get(M + "/workspaces?limit=1000").content == first
    api.post("/_twin/reset", json={"seed": 7})
    api.post("/_twin/clock", json={"freeze": True, "set": "2026-11-20T00:00:00Z"})
    assert api.get(M + "/workspaces?limit=1000").content != first


def test_the_catalog_names_tokens_dawgs_and_workspaces(api):
    catalog = ok(api.get("/_twin/catalog"))["meiro"]
    assert catalog["tokens"] == ["twin-token"] and catalog["user_id"] == 200
    assert [dawg["id"] for dawg in catalog["dawgs"]] == [100, 101, 102, 103]
    for dawg in catalog["dawgs"]:
        members = listed(api, f"/dawgs/{dawg['id']}/workspaces")["workspaces"]
        assert dawg["workspace_ids"] == ids(members)
        for dawg_job_id in dawg["dawg_job_ids"]:
            path = f"{M}/dawgs/{dawg['id']}/jobs/{dawg_job_id}/workspace_jobs"
            assert api.get(path).status_code == 200
    assert catalog["workspace_ids"][0] == 100
    trash = ids(listed(api, "/workspaces/trash")["trashed_workspaces"])
    assert catalog["trashed_workspace_ids"] == trash
