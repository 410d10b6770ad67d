"""Turns the measurements into Markdown tables and a list of the issue's goals, met or not."""

from __future__ import annotations

import statistics

from .suite import SERVERS, Comparison, GrowthPoint, Startup

# The goals (README "Performance").
READ_VS_PRISM, READ_VS_BARE = 2.0, 0.5
EVERY_VS_SILENT = 1.5  # every endpoint, reads and writes, against Prism -v silent
BARE_GOAL_LABEL = "GET /workspaces/{id}"  # the read the bare-route goal is set for
CREATE_VS_PRISM = 1.0
LARGE_WORLD_RATIO = 2.0  # a statistics read on the large world, at most this many times slower
STARTUP_SECONDS = 1.0
GROWTH_P50_RATIO = 1.5
RSS_LIMIT_MB = 300.0


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def throughput_table(comparisons: list[Comparison]) -> list[str]:
    rows = []
    for c in comparisons:
        reference = c.median("prism", "rps")
        for server in SERVERS:
            rps = c.median(server, "rps")
            errors = c.errors(server)
            rows.append(
                [
                    c.endpoint.label if server == SERVERS[0] else "",
                    server,
                    f"{rps:,.0f}",
                    f"{c.median(server, 'p50_ms'):.2f}",
                    f"{c.median(server, 'p99_ms'):.2f}",
                    f"{rps / reference:.2f}×",
                    f"{c.body_bytes[server]:,}",
                    str(errors) if errors else "",
                ]
            )
    header = ["endpoint", "server", "req/s", "p50 ms", "p99 ms", "× Prism default", "body B"]
    return _table([*header, "errors"], rows)


def other_table(start: Startup | None, growth: list[GrowthPoint]) -> list[str]:
    rows = []
    if start is not None:
        seconds = statistics.median(start.seconds)
        rows.append(
            [
                "start to first 200 (`apitwin serve`, default world)",
                f"{seconds:.2f} s (median of {len(start.seconds)})",
            ]
        )
        rows.append(["resident memory after start", f"{statistics.median(start.rss_mb):.0f} MB"])
    for point in growth:
        rows.append(
            [
                f"page read p50 / p99 at {point.workspaces:,} workspaces",
                f"{point.p50_ms:.2f} / {point.p99_ms:.2f} ms",
            ]
        )
    if growth:
        last = growth[-1]
        rows.append([f"resident memory at {last.workspaces:,} workspaces", f"{last.rss_mb:.0f} MB"])
        rate = (last.workspaces - growth[0].workspaces) / max(
            sum(p.grow_seconds for p in growth[1:]), 1e-9
        )
        rows.append(
            ["workspaces created per second while growing (pipelined POSTs)", f"{rate:,.0f}"]
        )
    return _table(["measure", "value"], rows)


def worlds_table(comparisons: list[Comparison]) -> list[str]:
    rows = []
    for c in comparisons:
        standard, large = (c.median(w, "rps") for w in ("standard", "large"))
        rows.append(
            [
                c.endpoint.label,
                f"{standard:,.0f}",
                f"{large:,.0f}",
                f"{c.median('standard', 'p99_ms'):.2f} / {c.median('large', 'p99_ms'):.2f}",
                f"{c.body_bytes['standard']:,} / {c.body_bytes['large']:,}",
                f"{standard / large:.2f}×",
            ]
        )
    header = ["Ylem read", "standard req/s", "large req/s", "p99 ms", "body B", "large ÷ standard"]
    return _table(header, rows)


def _check(ok: bool, text: str) -> str:
    return f"- [{'x' if ok else ' '}] {text}"


def goals(
    comparisons: list[Comparison],
    start: Startup | None,
    growth: list[GrowthPoint],
    worlds: list[Comparison] = (),
) -> list[str]:
    lines = []
    for c in comparisons:
        twin, prism, silent = (c.median(s, "rps") for s in ("apitwin", "prism", "prism -v silent"))
        label = c.endpoint.label
        p99 = c.median("apitwin", "p99_ms")
        prism_p99 = min(c.median("prism", "p99_ms"), c.median("prism -v silent", "p99_ms"))
        lines += [
            _check(
                twin >= EVERY_VS_SILENT * silent,
                f"{label}: {twin / silent:.2f}× Prism -v silent (goal {EVERY_VS_SILENT}×)",
            ),
            _check(
                p99 <= prism_p99,
                f"{label}: p99 {p99:.2f} ms, Prism's {c.median('prism', 'p99_ms'):.2f} / "
                f"{c.median('prism -v silent', 'p99_ms'):.2f} ms (goal: at or under both)",
            ),
        ]
        if c.endpoint.goal == "read":
            lines.append(
                _check(
                    twin >= READ_VS_PRISM * prism,
                    f"{label}: {twin / prism:.2f}× Prism default (goal {READ_VS_PRISM}×)",
                )
            )
            if label == BARE_GOAL_LABEL:
                bare = c.median("starlette", "rps")
                lines.append(
                    _check(
                        twin >= READ_VS_BARE * bare,
                        f"{label}: {twin / bare:.2f}× the bare Starlette route "
                        f"(goal {READ_VS_BARE}×)",
                    )
                )
        elif c.endpoint.goal == "create":
            lines.append(
                _check(
                    twin >= CREATE_VS_PRISM * prism,
                    f"{label}: {twin / prism:.2f}× Prism default (goal {CREATE_VS_PRISM}×)",
                )
            )
    if start is not None:
        seconds = statistics.median(start.seconds)
        lines.append(
            _check(seconds < STARTUP_SECONDS, f"start to first 200: {seconds:.2f} s (goal < 1 s)")
        )
    if len(growth) >= 2:
        first, last = growth[0], growth[-1]
        ratio = last.p50_ms / first.p50_ms
        lines.append(
            _check(
                ratio <= GROWTH_P50_RATIO,
                f"page read p50 at {last.workspaces:,} workspaces: {ratio:.2f}× the p50 at "
                f"{first.workspaces:,} (goal ≤ {GROWTH_P50_RATIO}×)",
            )
        )
        lines.append(
            _check(
                last.rss_mb < RSS_LIMIT_MB,
                f"resident memory at {last.workspaces:,} workspaces: {last.rss_mb:.0f} MB "
                f"(goal < {RSS_LIMIT_MB:.0f} MB)",
            )
        )
    for c in worlds:
        slower = c.median("standard", "rps") / c.median("large", "rps")
        lines.append(
            _check(
                slower <= LARGE_WORLD_RATIO,
                f"{c.endpoint.label} on the large world: {slower:.2f}× the time on the "
                f"standard one (goal ≤ {LARGE_WORLD_RATIO}×)",
            )
        )
    return lines
