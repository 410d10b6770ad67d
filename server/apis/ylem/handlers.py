"""Ylem handlers, one per operationId of specs/ylem.yaml: parse, call the state, shape the answer.

The legacy `workflows` operations (decision Y2) call the same state methods as their `pipelines`
successors: a workflow UUID is a pipeline UUID.
"""

from __future__ import annotations

from apitwin.apis.ylem import calendar
from apitwin.apis.ylem.state import LastRun, PeriodStats, Stats, YlemState
from apitwin.pipeline.http import reply

# RFC 6749 section 5.1: a token answer must not be cached (decision Y7).
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _token(token) -> dict:
    return {
        "access_token": token.access_token,
        "expires_in": token.expires_in,
        "refresh_token": token.refresh_token,
        "scope": ",".join(token.scopes),
        "token_type": "Bearer",
    }


def _pending(row) -> dict:
    return {
        "id": row.id,
        "state": "pending",
        "task_uuid": row.task_uuid,
        "task_run_uuid": row.uuid,
        "workflow_run_uuid": row.run_uuid,
        "is_successful": False,
        "output": None,
        "errors": None,
        "created_at": "",
        "updated_at": "",
    }


def _log_entry(row) -> dict:
    outcome = row.outcome
    return {
        "workflow_run_uuid": row.run_uuid,
        "task_uuid": row.task_uuid,
        "task_type": row.task_type,
        "is_successful": outcome.is_successful,
        "duration": outcome.duration,
        "output": row.output,
        "metric_value": row.metric_value,
        "executed_at": calendar.rfc3339(outcome.executed_at),
    }


def _date(at: int | None) -> str:
    return calendar.ZERO_DATE if at is None else calendar.plain(at)


def _stats(stats: Stats) -> dict:
    return {
        "num_of_successes": stats.successes,
        "num_of_failures": stats.failures,
        "average_duration": stats.average_duration,
        "is_last_run_successful": stats.last.is_successful,
        "last_run_executed_at": _date(stats.last.executed_at),
        "last_run_duration": stats.last.duration,
    }


def _period(period: PeriodStats) -> dict:
    return {
        "date_from": calendar.plain(period.start),
        "date_to": calendar.plain(period.end),
        "num_of_successes": period.successes,
        "num_of_failures": period.failures,
        "average_duration": period.average_duration,
    }


def _last_run(last: LastRun) -> dict:
    return {
        "is_successful": last.is_successful,
        "executed_at": _date(last.executed_at),
        "duration": last.duration,
    }


class Handlers:
    def __init__(self, twin) -> None:
        self.twin = twin

    def _state(self) -> YlemState:
        return YlemState(self.twin.world())

    # oauth
    async def issue_token_via_get(self, client_id, client_secret, grant_type, scope=None):
        token = self._state().issue_token(client_id, client_secret, grant_type, scope)
        return reply(_token(token), 200, _NO_STORE)

    issue_token_via_post = issue_token_via_get

    # runs
    async def run_pipeline(self, pipeline_uuid):
        return reply([_pending(row) for row in self._state().start_run(pipeline_uuid)], 201)

    async def run_workflow(self, workflow_uuid):
        return await self.run_pipeline(workflow_uuid)

    # the run log
    async def get_pipeline_logs(self, pipeline_uuid, date_time_from, date_time_to):
        rows = self._state().pipeline_logs(pipeline_uuid, date_time_from, date_time_to)
        return reply([_log_entry(row) for row in rows])

    # consolidated statistics
    async def get_task_stats(self, task_uuid, date_time_from, date_time_to):
        return reply(_stats(self._state().task_stats(task_uuid, date_time_from, date_time_to)))

    async def get_pipeline_stats(self, pipeline_uuid, date_time_from, date_time_to):
        stats = self._state().pipeline_stats(pipeline_uuid, date_time_from, date_time_to)
        return reply(_stats(stats))

    async def get_workflow_stats(self, workflow_uuid, date_time_from, date_time_to):
        return await self.get_pipeline_stats(workflow_uuid, date_time_from, date_time_to)

    # statistics per period
    async def get_task_aggregated_stats(self, task_uuid, date_from, period, number_of_periods):
        periods = self._state().task_aggregated(task_uuid, date_from, period, number_of_periods)
        return reply([_period(p) for p in periods])

    async def get_pipeline_aggregated_stats(
        self, pipeline_uuid, date_from, period, number_of_periods
    ):
        state = self._state()
        periods = state.pipeline_aggregated(pipeline_uuid, date_from, period, number_of_periods)
        return reply([_period(p) for p in periods])

    async def get_workflow_aggregated_stats(
        self, workflow_uuid, date_from, period, number_of_periods
    ):
        return await self.get_pipeline_aggregated_stats(
            workflow_uuid, date_from, period, number_of_periods
        )

    # the last run
    async def get_task_last_run_stats(self, task_uuid):
        return reply(_last_run(self._state().task_last_run(task_uuid)))

    async def get_pipeline_last_run_stats(self, pipeline_uuid):
        return reply(_last_run(self._state().pipeline_last_run(pipeline_uuid)))

    async def get_workflow_last_run_stats(self, workflow_uuid):
        return await self.get_pipeline_last_run_stats(workflow_uuid)
