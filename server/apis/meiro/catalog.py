"""What /_twin/catalog lists for Meiro: the tokens to send, the dawgs, a few workspace ids."""

from __future__ import annotations

from apitwin.apis.meiro.records import API_USER_ID, LIVE, RAN, TRASH
from apitwin.apis.meiro.state import MeiroState

_SAMPLE = 10


def catalog(world) -> dict:
    store = world.store
    return {
        "tokens": list(world.options.meiro_tokens),
        "user_id": API_USER_ID,
        "dawgs": MeiroState(world).dawg_index(),
        "workspace_ids": store.index_page(LIVE, 0, _SAMPLE),
        "workspace_ids_with_jobs": store.index_page(RAN, 0, _SAMPLE),
        "trashed_workspace_ids": store.index_page(TRASH, 0, _SAMPLE),
    }
