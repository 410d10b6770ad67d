"""apitwin's performance benchmark: `bash bench/run` (installs wrk and Prism, then runs this).

    python -m bench [--seconds 5] [--rounds 3] [--quick] [--markdown FILE] [--skip PART ...]
                    [--apis meiro director ylem] [--only TEXT ...]

Prints Markdown: the throughput table (apitwin, Prism default and `-v silent`, a bare Starlette
route; each as a ratio to Prism default), start-up and growth figures, and the issue's goals.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

PARTS = ("throughput", "startup", "growth", "worlds")


def _machine() -> list[str]:
    from .servers import PRISM

    cpu = "unknown CPU"
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    prism = subprocess.run([str(PRISM), "--version"], capture_output=True, text=True, check=False)
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    wrk_version = (wrk.stdout or wrk.stderr).split("[")[0].strip() or "wrk"
    return [
        f"{os.cpu_count()} × {cpu}; Python {platform.python_version()}; "
        f"Prism {prism.stdout.strip()}; {wrk_version}"
    ]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up per server, endpoint")
    parser.add_argument("--connections", type=int, default=32, help="wrk's open connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 s runs, 1 round, growth to 10,000"
    )
    parser.add_argument("--skip", nargs="*", choices=PARTS, default=[], help="parts to leave out")
    parser.add_argument("--markdown", type=pathlib.Path, help="also write the report here")
    parser.add_argument(
        "--apis",
        nargs="*",
        choices=("meiro", "director", "ylem"),
        default=["meiro", "director", "ylem"],
        help="the APIs whose endpoints the throughput part loads",
    )
    parser.add_argument(
        "--only", nargs="*", default=[], help="only the endpoints whose label holds TEXT"
    )
    args = parser.parse_args(argv)
    # After the arguments: --help needs nothing installed (bench/run prints it before setup).
    from . import report, suite
    from .servers import PRISM

    settings = suite.Settings(
        seconds=args.seconds,
        rounds=args.rounds,
        warmup=args.warmup,
        connections=args.connections,
        threads=args.threads,
    )
    if args.quick:
        settings.seconds, settings.rounds, settings.warmup = 2.0, 1, 1.0
        settings.startups, settings.growth_sizes, settings.growth_seconds = 1, (100, 10_000), 2.0
    for tool, hint in (("wrk", "apt-get install wrk"), (str(PRISM), "bash bench/run")):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is missing ({hint} installs it)", file=sys.stderr)
            return 2

    def say(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    began = time.monotonic()
    load_before = _load()
    comparisons, start, growth, worlds = [], None, [], []
    with tempfile.TemporaryDirectory(prefix="apitwin-bench-") as tmp:
        workdir = pathlib.Path(tmp)
        if "throughput" not in args.skip:
            comparisons = suite.compare(workdir, settings, say, tuple(args.apis), tuple(args.only))
        if "startup" not in args.skip:
            start = suite.startup(workdir, settings, say)
        if "growth" not in args.skip:
            growth = suite.growth(workdir, settings, say)
        if "worlds" not in args.skip:
            worlds = suite.worlds(workdir, settings, say)

    lines = [
        f"apitwin benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{time.monotonic() - began:.0f} s",
        "",
        *_machine(),
        f"load average before: {load_before}; after: {_load()}",
        f"wrk -t{settings.threads} -c{settings.connections}, {settings.rounds} interleaved "
        f"round(s) of {settings.seconds:g} s after a {settings.warmup:g} s warm-up; "
        "medians over rounds",
        "",
    ]
    if comparisons:
        lines += [*report.throughput_table(comparisons), ""]
    if start is not None or growth:
        lines += [*report.other_table(start, growth), ""]
    if worlds:
        lines += [*report.worlds_table(worlds), ""]
    lines += ["Goals:", "", *report.goals(comparisons, start, growth, worlds)]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
