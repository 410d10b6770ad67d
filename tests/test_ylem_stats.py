"""Ylem twin: calendar-correct aggregation, and the statistics service's 400s."""

from __future__ import annotations

import pytest
from support import AT_EPOCH, FIRST_TASK, PIPELINE, call, get_json, set_clock, token

# Runs started at these instants; the first task of a run always executes, within seconds.
RUN_AT = (
    "2026-12-31T23:50:00Z",  # Thursday: the week of Monday 2026-12-28 crosses the new year
    "2027-01-01T00:10:00Z",
    "2027-02-15T10:00:00Z",
    "2027-03-31T23:59:00Z",
    "2027-06-30T12:00:00Z",
    "2028-02-29T12:00:00Z",  # a leap day
)


@pytest.fixture
def calendar_runs(twin) -> str:
    for instant in RUN_AT:
        set_clock(twin, instant)
        assert call(twin, "POST", f"/pipelines/{PIPELINE}/runs/", token(twin)).status_code == 201
    set_clock(twin, "2028-06-01T00:00:00Z")
    return token(twin)


def periods(twin, access: str, date_from: str, period: str, count: int) -> list[tuple]:
    path = f"/stats/tasks/{FIRST_TASK}/aggregated-stats/{date_from}/{period}/{count}"
    return [
        (p["date_from"], p["date_to"], p["num_of_successes"] + p["num_of_failures"])
        for p in get_json(twin, path, access)
    ]


def test_month_buckets_cross_the_year_and_end_on_the_last_second(twin, calendar_runs):
    assert periods(twin, calendar_runs, "2026-12-01", "month", 4) == [
        ("2026-12-01 00:00:00", "2026-12-31 23:59:59", 1),
        ("2027-01-01 00:00:00", "2027-01-31 23:59:59", 1),
        ("2027-02-01 00:00:00", "2027-02-28 23:59:59", 1),
        ("2027-03-01 00:00:00", "2027-03-31 23:59:59", 1),
    ]


def test_a_week_starts_on_monday_even_across_the_new_year(twin, calendar_runs):
    assert periods(twin, calendar_runs, "2026-12-28", "week", 1) == [
        ("2026-12-28 00:00:00", "2027-01-03 23:59:59", 2)
    ]
    # A window from the Thursday still groups by the calendar week.
    assert periods(twin, calendar_runs, "2026-12-31", "week", 1) == [
        ("2026-12-28 00:00:00", "2027-01-03 23:59:59", 2)
    ]


def test_quarters_start_in_january_april_july_october(twin, calendar_runs):
    # From 15 November for two quarters: the window ends 2027-05-14 23:59:59; buckets are the
    # calendar quarters its runs fall in.
    assert periods(twin, calendar_runs, "2026-11-15", "quarter", 2) == [
        ("2026-10-01 00:00:00", "2026-12-31 23:59:59", 1),
        ("2027-01-01 00:00:00", "2027-03-31 23:59:59", 3),
    ]
    assert periods(twin, calendar_runs, "2027-04-01", "quarter", 1) == [
        ("2027-04-01 00:00:00", "2027-06-30 23:59:59", 1)
    ]


def test_years_days_and_the_leap_day(twin, calendar_runs):
    years = periods(twin, calendar_runs, "2026-01-01", "year", 3)
    assert [y[:2] for y in years] == [
        ("2026-01-01 00:00:00", "2026-12-31 23:59:59"),
        ("2027-01-01 00:00:00", "2027-12-31 23:59:59"),
        ("2028-01-01 00:00:00", "2028-12-31 23:59:59"),
    ]
    assert [y[2] for y in years[1:]] == [4, 1]
    assert years[0][2] > 300  # the seeded history and the new year's eve run
    assert periods(twin, calendar_runs, "2028-02-29", "day", 1) == [
        ("2028-02-29 00:00:00", "2028-02-29 23:59:59", 1)
    ]


def test_a_month_from_the_31st_ends_on_the_last_day_of_the_next_month(twin, calendar_runs):
    # 2027-01-31 plus one month is 2027-02-28: the 1 January run is before the window.
    assert periods(twin, calendar_runs, "2027-01-31", "month", 1) == [
        ("2027-02-01 00:00:00", "2027-02-28 23:59:59", 1)
    ]


def test_date_from_may_carry_a_time_and_the_window_still_starts_at_midnight(twin, calendar_runs):
    short = periods(twin, calendar_runs, "2026-12-31", "day", 2)
    assert short == periods(twin, calendar_runs, "2026-12-31 00:00:00", "day", 2)
    assert short == periods(twin, calendar_runs, "2026-12-31 23:55:00", "day", 2)
    assert [day[2] for day in short] == [1, 1]


def test_aggregated_periods_add_up_to_the_stats_of_the_same_window(twin):
    set_clock(twin, AT_EPOCH)  # the whole seeded history has happened
    access = token(twin)
    months = get_json(
        twin, f"/stats/pipelines/{PIPELINE}/aggregated-stats/2026-08-01/month/3", access
    )
    stats = get_json(
        twin, f"/stats/pipelines/{PIPELINE}/stats/2026-08-01 00:00:00/2026-10-31 23:59:59", access
    )
    assert sum(m["num_of_successes"] for m in months) == stats["num_of_successes"]
    assert sum(m["num_of_failures"] for m in months) == stats["num_of_failures"]


def test_the_widest_windows_are_answered(twin):
    set_clock(twin, AT_EPOCH)  # the whole seeded history has happened
    access = token(twin)
    for date_from in ("0000-01-01", "9999-12-31"):
        path = f"/stats/pipelines/{PIPELINE}/aggregated-stats/{date_from}/year/1000"
        assert get_json(twin, path, access) == []
    everything = "0000-01-01 00:00:00/9999-12-31 23:59:59"
    stats = get_json(twin, f"/stats/pipelines/{PIPELINE}/stats/{everything}", access)
    assert stats["num_of_successes"] > 300


def assert_bad_request(answer, *errors: str) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == 400 and body["message"] == "Bad Request" and body["status"] == 400
    assert body["errors"] and all(isinstance(e, str) for e in body["errors"])
    for expected in errors:
        assert expected in body["errors"][0]


GO_LAYOUT = 'as "2006-01-02 15:04:05"'


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (
            "2024-01-01T14:23:01",
            'parsing time "2024-01-01T14:23:01" as "2006-01-02 15:04:05": '
            'cannot parse "T14:23:01" as " "',
        ),
        ("2024-01-01", GO_LAYOUT),
        ("2023-02-29 10:00:00", 'parsing time "2023-02-29 10:00:00": day out of range'),
        ("2024-04-31 10:00:00", "day out of range"),
        ("2024-13-01 10:00:00", "month out of range"),
        ("2024-01-01 24:00:00", "hour out of range"),
        ("yesterday", GO_LAYOUT),
    ],
)
@pytest.mark.parametrize("route", ["tasks/{t}/stats", "pipelines/{p}/stats", "pipelines/{p}/logs"])
@pytest.mark.parametrize("end", ["from", "to"])
def test_a_bad_date_is_a_400_with_the_statistics_service_body(twin, value, error, route, end):
    good = "2024-01-01 00:00:00"
    dates = f"{value}/{good}" if end == "from" else f"{good}/{value}"
    path = "/stats/" + route.format(t=FIRST_TASK, p=PIPELINE) + "/" + dates
    assert_bad_request(call(twin, "GET", path, token(twin)), error)


@pytest.mark.parametrize(
    ("segments", "error"),
    [
        ("2023-02-29/month/12", 'parsing time "2023-02-29": day out of range'),
        ("2020.01.01/month/12", GO_LAYOUT),
        ("2020-01-01T00:00:00/month/12", GO_LAYOUT),
        ("2020-01-01/fortnight/12", "must be a valid value"),  # the real service's words
        ("2020-01-01/month/0", "less than the minimum of 1"),
        ("2020-01-01/month/1001", "greater than the maximum of 1000"),
    ],
)
@pytest.mark.parametrize("kind", ["tasks", "pipelines", "workflows"])
def test_a_bad_aggregation_is_a_400(twin, segments, error, kind):
    path = f"/stats/{kind}/{PIPELINE}/aggregated-stats/{segments}"
    answer = call(twin, "GET", path, token(twin))
    assert_bad_request(answer, error)
    assert "\n" not in answer.json()["errors"][0]


@pytest.mark.parametrize(
    ("segments", "errors"),
    [
        (
            f"{PIPELINE}/stats/2024-01-01/2024-02-01",  # the real server's answer, captured live
            [
                'parsing time "2024-01-01" as "2006-01-02 15:04:05": cannot parse "" as "15"',
                'parsing time "2024-02-01" as "2006-01-02 15:04:05": cannot parse "" as "15"',
            ],
        ),
        (
            "not-a-uuid/logs/2024-01-01 00:00:00/2024-02-30 00:00:00",
            ["invalid UUID length: 10", 'parsing time "2024-02-30 00:00:00": day out of range'],
        ),
        (
            f"{PIPELINE}/aggregated-stats/2024-13-01/fortnight/12",
            ['parsing time "2024-13-01": month out of range', "must be a valid value"],
        ),
    ],
)
def test_every_bad_segment_is_listed_in_path_order(twin, segments, errors):
    """The statistics service checks every segment; Connexion stops at the first."""
    answer = call(twin, "GET", f"/stats/pipelines/{segments}", token(twin))
    assert_bad_request(answer)
    assert answer.json()["errors"] == errors


def test_a_number_of_periods_that_is_not_a_number_matches_no_route(twin):
    answer = call(
        twin, "GET", f"/stats/tasks/{FIRST_TASK}/aggregated-stats/2020-01-01/month/abc", token(twin)
    )
    assert answer.status_code == 404
    assert {"code": 404, "message": "Not Found"}.items() <= answer.json().items()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/stats/tasks/{u}/last-run/stats"),
        ("GET", "/stats/pipelines/{u}/stats/2024-01-01 00:00:00/2024-01-02 00:00:00"),
        ("POST", "/pipelines/{u}/runs/"),
        ("POST", "/workflows/{u}/runs/"),
    ],
)
def test_a_malformed_uuid_is_a_400(twin, method, path):
    answer = call(twin, method, path.format(u="not-a-uuid"), token(twin))
    assert_bad_request(answer, "invalid UUID length: 10")
