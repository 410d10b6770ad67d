"""Calendar arithmetic on whole POSIX seconds, UTC, for any year (0000 and 9999 included).

Ylem's dates are "Y-m-d H:i:s" strings with a four-digit year, so a client may send year 0000 or
ask for 1000 years after 9999-12-31; `datetime` cannot hold either. Days are counted with the
proleptic Gregorian calendar (H. Hinnant's days-from-civil), which needs no bounds.
"""

from __future__ import annotations

import functools

DAY = 86_400
ZERO_DATE = "0001-01-01 00:00:00"  # what the real server sends for "never" (Go's zero time)

_LAYOUT = "2006-01-02 15:04:05"  # Go's name for the layout, as the real errors quote it
_MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}

Date = tuple[int, int, int]


def days_from_civil(year: int, month: int, day: int) -> int:
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def civil_from_days(days: int) -> Date:
    days += 719_468
    era = days // 146_097
    doe = days - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def instant(date: Date, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return days_from_civil(*date) * DAY + hour * 3600 + minute * 60 + second


def date_of(ts: float) -> Date:
    return civil_from_days(int(ts // DAY))


@functools.lru_cache(maxsize=1 << 14)  # statistics show two per period, the log one per row
def plain(ts: float) -> str:
    """ "Y-m-d H:i:s", the path and statistics format."""
    year, month, day = date_of(ts)
    seconds = int(ts) - int(ts // DAY) * DAY
    hour, rest = divmod(seconds, 3600)
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{rest // 60:02d}:{rest % 60:02d}"


def rfc3339(ts: float) -> str:
    """RFC 3339 with Z, whole seconds (the log's `executed_at`)."""
    return plain(ts).replace(" ", "T") + "Z"


class DateError(ValueError):
    """A date the API cannot read; the message is the real server's (Go's time.Parse)."""


# Go's layout "2006-01-02 15:04:05" as (element, digits); separators have no digits.
_ELEMENTS = (
    ("2006", 4), ("-", 0), ("01", 2), ("-", 0), ("02", 2), (" ", 0),
    ("15", 2), (":", 0), ("04", 2), (":", 0), ("05", 2),
)  # fmt: skip
_RANGES = {
    "01": ("month", 1, 12),
    "15": ("hour", 0, 23),
    "04": ("minute", 0, 59),
    "05": ("second", 0, 59),
}


def _parse(text: str, elements=_ELEMENTS) -> list[int]:
    """The numbers of `text` read with Go's layout, failing with Go's messages."""
    rest, numbers = text, []
    for element, digits in elements:
        if element == " " and not rest:
            continue  # Go skips a layout space at the end of the value: "15" then finds nothing
        piece = rest[: digits or len(element)]
        if digits and not (len(piece) == digits and piece.isascii() and piece.isdigit()):
            piece = None
        if piece is None or (not digits and piece != element):
            raise DateError(
                f'parsing time "{text}" as "{_LAYOUT}": cannot parse "{rest}" as "{element}"'
            )
        rest = rest[len(piece) :]
        if digits:
            numbers.append(int(piece))
            name, low, high = _RANGES.get(element, ("", 0, 9999))
            if not low <= numbers[-1] <= high:
                raise DateError(f'parsing time "{text}": {name} out of range')
    if rest:
        raise DateError(f'parsing time "{text}": extra text: "{rest}"')
    year, month, day = numbers[:3]
    if not 1 <= day <= days_in_month(year, month):
        raise DateError(f'parsing time "{text}": day out of range')
    return numbers


@functools.lru_cache(maxsize=1024)  # a polled window sends the same two dates again
def parse_plain(text: str) -> int:
    """ "Y-m-d H:i:s" to seconds; DateError with Go's message otherwise."""
    year, month, day, *clock = _parse(text)
    return instant((year, month, day), *clock)


@functools.lru_cache(maxsize=1024)
def parse_day(text: str) -> Date:
    """ "Y-m-d" or "Y-m-d H:i:s" to the date (the aggregation window starts at its midnight)."""
    if len(text) == 10:
        return tuple(_parse(text, _ELEMENTS[:5]))
    return date_of(parse_plain(text))


def explain(text: str, day_only_allowed: bool) -> str | None:
    """Why `text` is not a date the API reads, in the real server's words; None if it is one."""
    try:
        parse_day(text) if day_only_allowed else parse_plain(text)
    except DateError as exc:
        return str(exc)
    return None


def period_start(period: str, ts: float) -> Date:
    """The first day of the calendar period holding `ts` (weeks start on Monday)."""
    return _period_start(period, int(ts // DAY))


@functools.lru_cache(maxsize=1 << 14)  # a statistics read buckets every run of its window
def _period_start(period: str, days: int) -> Date:
    year, month, day = civil_from_days(days)
    if period == "day":
        return year, month, day
    if period == "week":
        return civil_from_days(days - (days + 3) % 7)  # day 0, 1970-01-01, was a Thursday
    return year, month - (month - 1) % _MONTHS_PER[period], 1


def add_periods(period: str, date: Date, count: int) -> Date:
    """`date` plus `count` periods; a day past the end of the month falls back to its last day."""
    if period in ("day", "week"):
        return civil_from_days(days_from_civil(*date) + count * (7 if period == "week" else 1))
    year, month, day = date
    months = year * 12 + month - 1 + count * _MONTHS_PER[period]
    year, month = divmod(months, 12)
    return year, month + 1, min(day, days_in_month(year, month + 1))


def period_end(period: str, start: Date) -> int:
    """The last second of the period that starts on `start`."""
    return instant(add_periods(period, start, 1)) - 1
