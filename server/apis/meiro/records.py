"""What every Meiro rule shares: collection and index names, ids, datetimes, pages.

Every list the API serves reads an ordered index (score = id) of the store, one per scope, so a
page costs the page and never a scan of the collection:

    meiro.workspaces                  live workspaces         (+ .enabled, .disabled, .ran)
    meiro.workspaces.trash            trashed workspaces
    meiro.dawg.<id>.workspaces        a dawg's live workspaces
    meiro.workspace.<id>.history      a workspace's stored history entries
    meiro.workspace.<id>.jobs         a workspace's jobs
    meiro.jobs / meiro.dawg.<id>.jobs / meiro.dawg_job.<id>.jobs
                                      jobs per scope (+ .live: jobs of workspaces not trashed)
    meiro.dawgs, meiro.dawg.<id>.dawg_jobs
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable, Iterable, Iterator

WORKSPACES = "meiro.workspaces"
CARDS = "meiro.workspace_cards"  # the columns workspace lists filter and order on
HISTORY = "meiro.workspace_history"
JOBS = "meiro.workspace_jobs"
DAWGS = "meiro.dawgs"
DAWG_JOBS = "meiro.dawg_jobs"

LIVE = "meiro.workspaces"
ENABLED = "meiro.workspaces.enabled"
DISABLED = "meiro.workspaces.disabled"
RAN = "meiro.workspaces.ran"  # live workspaces that have a job: the last-jobs list
TRASH = "meiro.workspaces.trash"
ALL_JOBS = "meiro.jobs"
ALL_DAWGS = "meiro.dawgs"

# The documents' examples number everything from 100 (workspace 100, job 100, history 100,
# dawg 100) and dawg jobs from 400; the twin's ids start there too, so the examples fit.
FIRST_ID = {WORKSPACES: 100, HISTORY: 100, JOBS: 100, DAWGS: 100, DAWG_JOBS: 400}

# The user the twin's access tokens belong to (the documents' `user_id` 200).
API_USER_ID = 200


def dawg_workspaces(dawg_id: int) -> str:
    return f"meiro.dawg.{dawg_id}.workspaces"


def dawg_dawg_jobs(dawg_id: int) -> str:
    return f"meiro.dawg.{dawg_id}.dawg_jobs"


def workspace_history(workspace_id: int) -> str:
    return f"meiro.workspace.{workspace_id}.history"


def workspace_jobs(workspace_id: int) -> str:
    return f"meiro.workspace.{workspace_id}.jobs"


def job_scope(dawg_id: int | None = None, dawg_job_id: int | None = None) -> str:
    """The index of every job in a scope; `<scope>.live` leaves trashed workspaces' jobs out."""
    if dawg_job_id is not None:
        return f"meiro.dawg_job.{dawg_job_id}.jobs"
    if dawg_id is not None:
        return f"meiro.dawg.{dawg_id}.jobs"
    return ALL_JOBS


def live(scope: str) -> str:
    return scope + ".live"


@contextlib.contextmanager
def locked(store, *workspace_ids: int) -> Iterator[None]:
    """Holds these workspaces' locks (in id order, so two callers cannot deadlock) for a
    read-modify-write sequence; a store shared by several processes serialises on them."""
    with contextlib.ExitStack() as stack:
        for workspace_id in sorted(set(workspace_ids)):
            stack.enter_context(store.lock(f"meiro.workspace.{workspace_id}"))
        yield


def new_id(store, collection: str) -> int:
    return FIRST_ID[collection] - 1 + store.next_id(collection)


@functools.lru_cache(maxsize=1 << 16)  # three per workspace row; the same instants recur
def stamp(ts: int | None) -> str | None:
    """The documents' datetime form, `YYYY-MM-DD HH:MM:SS`, in UTC."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def reindex(store, member: int, old: set[str], new: set[str]) -> None:
    """Moves a member between index sets (score = its id, so every index lists by id)."""
    for name in old - new:
        store.index_remove(name, member)
    for name in new - old:
        store.index_add(name, member, member)


@dataclasses.dataclass(frozen=True)
class Page:
    """The paging part of a list request, echoed in `selection_settings`."""

    limit: int = 20
    offset: int | None = None
    order_by: str = "id"
    order_dir: str = "ASC"

    @classmethod
    def of(cls, query: dict) -> Page:
        return cls(
            limit=query.get("limit", cls.limit),
            offset=query.get("offset"),
            order_by=query.get("order_by", cls.order_by),
            order_dir=query.get("order_dir", cls.order_dir),
        )

    @property
    def start(self) -> int:
        return self.offset or 0

    @property
    def descending(self) -> bool:
        return self.order_dir == "DESC"

    def selection(self) -> dict:
        # dataclasses.asdict's answer (its fields, in order; scalars, so nothing to copy),
        # without its recursive walk.
        return {
            "limit": self.limit,
            "offset": self.offset,
            "order_by": self.order_by,
            "order_dir": self.order_dir,
        }

    def slice(self, rows: list) -> list:
        return rows[self.start : self.start + self.limit]

    def sort(self, rows: list[dict]) -> list[dict]:
        """Orders rows by the chosen column, then id; `null` first (last when descending)."""
        column = self.order_by

        def key(row: dict):
            value = row[column]
            return (value is not None, value if value is not None else 0, row["id"])

        return sorted(rows, key=key, reverse=self.descending)


# How many index members a filtered page reads per round trip to the store.
_CHUNK = 256


def page_index(
    store,
    index: str,
    page: Page,
    fetch: Callable[[list[int]], list[dict]],
    view: Callable[[dict], dict],
    keep: Callable[[dict], bool] | None = None,
) -> list[dict]:
    """One page of the rows an index lists, optionally filtered, in the order asked for.

    `fetch` reads stored records, `keep` filters them, `view` turns a kept record into its row.
    By id (the default) the index order is the answer: an unfiltered page reads only its rows,
    a filtered one reads the index in chunks until the page is full. Any other column needs
    every row of the scope, sorted.
    """
    if page.order_by != "id":
        docs = fetch(store.index_page(index, 0, None))
        rows = [view(doc) for doc in docs if keep is None or keep(doc)]
        return page.slice(page.sort(rows))
    if keep is None:
        ids = store.index_page(index, page.start, page.limit, page.descending)
        return [view(doc) for doc in fetch(ids)]
    wanted, skip, at = [], page.start, 0
    while len(wanted) < page.limit:
        ids = store.index_page(index, at, _CHUNK, page.descending)
        if not ids:
            break
        at += len(ids)
        for doc in fetch(ids):
            if not keep(doc):
                continue
            if skip:
                skip -= 1
                continue
            wanted.append(view(doc))
            if len(wanted) == page.limit:
                break
    return wanted


def unique(values: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(values))
