"""Running `apitwin diff` once its arguments are good, and showing what differs: in the
terminal (each difference with the request as curl and both answers side by side) and as JSON."""

from __future__ import annotations

import contextlib
import json
import pathlib
import sys

import httpx

from .auth import TargetError
from .credentials import Redactor
from .diff_compare import Answer
from .diff_run import DiffResult, Run
from .diff_send import Side, SpecIndex
from .target import TWIN, URL, check_reachable, open_target

WIDTH, LINES = 58, 24


def _lines(answer: Answer, redactor: Redactor) -> list[str]:
    document = answer.json()
    text = (
        json.dumps(document, indent=1, sort_keys=True)
        if document is not None
        else answer.body.decode("utf-8", "replace")
    )
    head = f"{answer.status} {answer.media_type or '(no content type)'}"
    body = redactor(text).splitlines()
    if len(body) > LINES:
        body = [*body[:LINES], f"... {len(body) - LINES} more lines"]
    return [head, *body]


def side_by_side(a: Answer, b: Answer, redactor: Redactor) -> str:
    left, right = _lines(a, redactor), _lines(b, redactor)
    rows = [f"    {'A':<{WIDTH}} | B"]
    for number in range(max(len(left), len(right))):
        one = left[number] if number < len(left) else ""
        other = right[number] if number < len(right) else ""
        cut = one if len(one) <= WIDTH else one[: WIDTH - 3] + "..."
        rows.append(f"    {cut:<{WIDTH}} | {other[:WIDTH]}")
    return "\n".join(rows)


def summary(result: DiffResult, redactor: Redactor) -> str:
    out = [
        f"apitwin diff --api {result.api} ({result.mode}): A = {result.side_a}, B = {result.side_b}"
    ]
    for compared in result.compared:
        if not compared.differences:
            continue
        request = compared.request
        out.append(f"\n{request.operation} ({request.origin}): {request.method} {request.path}")
        out += [f"  - {found.message}" for found in compared.differences]
        out.append(f"  {compared.curl}")
        out.append(side_by_side(compared.a, compared.b, redactor))
    known = [(c, d, dev) for c in result.compared for d, dev in c.known]
    if known:
        out.append("\nKnown differences (not counted):")
        seen = set()
        for compared, found, deviation in known:
            key = (compared.request.operation, found.message, deviation.reason)
            if key not in seen:
                seen.add(key)
                out.append(
                    f"  - {compared.request.operation}: {found.message} ({deviation.reason})"
                )
    for line in result.skipped:
        out.append(f"skipped {line}")
    out.append(
        f"\n{len(result.compared)} requests compared in {result.seconds:.1f} s "
        f"({_counts(result)}): {result.differences} difference(s), {result.known} known"
    )
    return redactor("\n".join(out))


def _counts(result: DiffResult) -> str:
    """How many of each origin, and of each status class in A: what the comparison covered."""
    origins: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for compared in result.compared:
        origin = compared.request.origin.split(" ")[0]
        origins[origin] = origins.get(origin, 0) + 1
        status = f"{compared.a.status // 100}xx"
        statuses[status] = statuses.get(status, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(origins.items()) + sorted(statuses.items()))


def _answer(answer: Answer, redactor: Redactor) -> dict:
    document = answer.json()
    body = document if document is not None else answer.body.decode("utf-8", "replace")
    return {"status": answer.status, "content_type": answer.content_type, "body": body}


def report(result: DiffResult, exit_code: int, redactor: Redactor) -> str:
    items = []
    for compared in result.compared:
        if not compared.differences and not compared.known:
            continue
        items.append(
            {
                "operation": compared.request.operation,
                "origin": compared.request.origin,
                "request": compared.request.line(),
                "curl": compared.curl,
                "a": _answer(compared.a, redactor),
                "b": _answer(compared.b, redactor),
                "differences": [vars(found) for found in compared.differences],
                "known": [
                    vars(found) | {"reason": deviation.reason}
                    for found, deviation in compared.known
                ],
            }
        )
    data = {
        "api": result.api,
        "mode": result.mode,
        "side_a": result.side_a,
        "side_b": result.side_b,
        "exit_code": exit_code,
        "compared": len(result.compared),
        "differences": result.differences,
        "known": result.known,
        "seconds": round(result.seconds, 3),
        "skipped": result.skipped,
        "items": items,
    }
    return redactor(json.dumps(data, indent=2))


@contextlib.contextmanager
def _sides(args, profile, side_a, side_b, redactor: Redactor):
    with open_target(profile, URL if args.target else TWIN, args.target, _twin_args(args)) as b:
        check_reachable(b.base_url, args.request_timeout)
        sides = []
        try:
            if args.base_url:
                check_reachable(args.base_url, args.request_timeout)
                sides.append(
                    Side("A", args.base_url, profile, side_a, redactor, args.request_timeout)
                )
            sides.append(Side("B", b.base_url, profile, side_b, redactor, args.request_timeout))
            for side in sides:
                side.credential_headers()  # a token now: bad credentials stop here, exit 2
            yield sides
        finally:
            for side in sides:
                side.close()


def _twin_args(args) -> tuple[str, ...]:
    return ("--seed", str(args.twin_seed)) if args.twin_seed is not None else ()


def run(args, profile, side_a, side_b, deviations) -> int:
    secrets = [*(side_a.secrets() if side_a else []), *side_b.secrets()]
    redactor = Redactor(secrets)
    index = SpecIndex(profile)
    try:
        with _sides(args, profile, side_a, side_b, redactor) as sides:
            run = Run(profile.name, sides[-1], deviations, redactor, index)
            if args.replay:
                from .diff_replay import replay

                result = replay(pathlib.Path(args.replay), run, index, args.replay)
            else:
                from .diff_live import Live
                from .runner import load_schema
                from .settings import RunSettings

                settings = RunSettings(base_url=sides[0].base_url, seed=args.seed)
                schema = load_schema(profile, settings)
                live = Live(schema, index, sides[0], run, args.seed, args.max_examples)
                result = live.run_all()
    except TargetError as exc:
        print(f"apitwin diff: error: {redactor(str(exc))}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:  # reachable at first, then not: the run is not complete
        print(
            f"apitwin diff: error: a request failed mid-run: {redactor(str(exc))}", file=sys.stderr
        )
        return 1
    except KeyboardInterrupt:
        print("apitwin diff: interrupted", file=sys.stderr)
        return 130
    code = 1 if result.differences else 0
    print(summary(result, redactor))
    if args.report:
        pathlib.Path(args.report).write_text(
            report(result, code, redactor) + "\n", encoding="utf-8"
        )
    return code
