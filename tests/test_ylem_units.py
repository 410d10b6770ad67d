"""Ylem twin, below HTTP: calendar arithmetic, the spec's date patterns, configured clients."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from support import SPEC

from apitwin.apis.ylem import calendar
from apitwin.apis.ylem.state import YlemState
from apitwin.core.errors import Unauthorized
from apitwin.core.twin import Twin
from apitwin.options import TwinOptions


def test_seconds_and_dates_match_the_standard_library_across_its_range():
    draw = random.Random(5)
    low = int(dt.datetime(1, 1, 1, tzinfo=dt.UTC).timestamp())
    high = int(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC).timestamp())
    for ts in [low, high, 0, -1] + [draw.randint(low, high) for _ in range(5000)]:
        expected = dt.datetime.fromtimestamp(ts, dt.UTC)
        assert calendar.plain(ts) == expected.isoformat(sep=" ")[:19]
        assert calendar.parse_plain(calendar.plain(ts)) == ts
        monday = dt.date(*calendar.period_start("week", ts))
        assert monday.weekday() == 0 and 0 <= (expected.date() - monday).days < 7


def test_years_beyond_the_standard_library_still_count():
    assert calendar.plain(calendar.instant((0, 2, 29))) == "0000-02-29 00:00:00"
    assert calendar.add_periods("year", (9999, 12, 31), 1000) == (10999, 12, 31)


@pytest.mark.parametrize(
    ("period", "start", "count", "expected"),
    [
        ("month", (2020, 1, 31), 1, (2020, 2, 29)),
        ("month", (2021, 1, 31), 1, (2021, 2, 28)),
        ("quarter", (2020, 11, 30), 1, (2021, 2, 28)),
        ("year", (2020, 2, 29), 1, (2021, 2, 28)),
        ("year", (2020, 2, 29), 4, (2024, 2, 29)),
        ("week", (2026, 12, 28), 1, (2027, 1, 4)),
        ("day", (2026, 12, 31), 1, (2027, 1, 1)),
    ],
)
def test_adding_periods_falls_back_to_the_last_day_of_a_shorter_month(
    period, start, count, expected
):
    assert calendar.add_periods(period, start, count) == expected


def test_period_ends_are_their_last_second():
    assert calendar.plain(calendar.period_end("quarter", (2027, 1, 1))) == "2027-03-31 23:59:59"
    assert calendar.plain(calendar.period_end("month", (2028, 2, 1))) == "2028-02-29 23:59:59"


def _pattern(name: str) -> re.Pattern:
    return re.compile(SPEC["components"]["schemas"][name]["pattern"])


def test_the_spec_date_pattern_admits_exactly_the_dates_the_twin_reads():
    pattern = _pattern("PlainDateTime")
    for year in (0, 1, 1900, 2000, 2023, 2024, 2100, 9999):
        for month in range(0, 14):
            for day in range(0, 33):
                text = f"{year:04d}-{month:02d}-{day:02d} 23:59:59"
                readable = calendar.explain(text, day_only_allowed=False) is None
                assert bool(pattern.fullmatch(text)) == readable, text
    for text in (
        "2024-01-01 24:00:00",
        "2024-01-01 00:60:00",
        "2024-01-01T00:00:00",
        "٢٠٢٤-01-01 00:00:00",
    ):
        assert not pattern.fullmatch(text)
        assert calendar.explain(text, day_only_allowed=False)


def test_go_words_for_dates_it_cannot_read():
    assert calendar.explain("2024-01-01T14:23:01", day_only_allowed=False) == (
        'parsing time "2024-01-01T14:23:01" as "2006-01-02 15:04:05": '
        'cannot parse "T14:23:01" as " "'
    )
    assert calendar.explain("2024-01-01", day_only_allowed=True) is None
    assert "extra text" in calendar.explain("2024-01-01 00:00:00 ", day_only_allowed=False)


def test_configured_clients_replace_the_default_one():
    twin = Twin(TwinOptions(epoch="2026-11-01", ylem_clients={"partner": "s3cret"}))
    state = YlemState(twin.world())
    issued = state.issue_token("partner", "s3cret", "client_credentials", None)
    assert state.token_info(issued.access_token)["sub"] == "partner"
    with pytest.raises(Unauthorized) as refused:
        state.issue_token("twin-client", "twin-secret", "client_credentials", None)
    assert refused.value.fields["error"] == "invalid_client"
