"""One `apitwin diff` run: pairs of answers compared, ids carried from A to B, known
differences set aside. Replay and live mode feed it the same way: a request, A's answer, and
the request as B gets it (A's ids mapped to B's) with B's answer."""

from __future__ import annotations

import dataclasses
import re
import time

from .credentials import Redactor
from .diff_compare import Answer, Difference, compare, decided
from .diff_ids import IdMap
from .diff_send import Request, Side, SpecIndex, curl, required_paths, response_schema
from .known import Deviation

CHECKS = ("diff_status", "diff_content_type", "diff_structure", "diff_value")


@dataclasses.dataclass
class Compared:
    request: Request  # as side A got it
    curl: str  # the request as side B got it, credentials masked
    a: Answer
    b: Answer
    differences: list[Difference]
    known: list[tuple[Difference, Deviation]]


@dataclasses.dataclass
class DiffResult:
    api: str
    mode: str  # replay | live
    side_a: str
    side_b: str
    compared: list[Compared] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)  # why each was not compared
    seconds: float = 0.0

    @property
    def differences(self) -> int:
        return sum(len(c.differences) for c in self.compared)

    @property
    def known(self) -> int:
        return sum(len(c.known) for c in self.compared)


def _fits(deviation: Deviation, api: str, request: Request, a: Answer, found: Difference) -> bool:
    if not deviation.matches(api, request.operation, "", (f"diff_{found.kind}",)):
        return False
    if deviation.status is not None and a.status != deviation.status:
        return False
    if deviation.message and not re.search(deviation.message, found.message):
        return False
    return not deviation.request or bool(re.search(deviation.request, request.line()))


class Run:
    def __init__(
        self,
        api: str,
        side_b: Side,
        deviations: list[Deviation],
        redactor: Redactor,
        index: SpecIndex,
    ) -> None:
        self.api, self.side_b, self.redactor, self.index = api, side_b, redactor, index
        self.deviations = [d for d in deviations if d.api == api]
        self.ids = IdMap()
        self.started = time.perf_counter()

    def against_b(self, request: Request, a: Answer, result: DiffResult) -> Compared:
        """Sends `request` (A's ids mapped to B's) to B and compares B's answer with `a`."""
        translated = request.translated(self.ids)
        sent, b = self.side_b.send(translated)
        differences = compare(
            a,
            b,
            decided(request.json(), request.query),
            decided(translated.json(), translated.query),
            translated.query,
            self._required(request, a),
        )
        if a.status == b.status:
            self.ids.learn(a.json(), b.json())
        known = []
        for found in list(differences):
            deviation = next(
                (d for d in self.deviations if _fits(d, self.api, request, a, found)), None
            )
            if deviation is not None:
                differences.remove(found)
                known.append((found, deviation))
        compared = Compared(request, curl(sent, self.redactor), a, b, differences, known)
        result.compared.append(compared)
        return compared

    def _required(self, request: Request, a: Answer) -> set[str] | None:
        operation = self.index.operation(request.operation)
        schema = response_schema(self.index.spec, operation, a.status, a.media_type)
        return None if schema is None else required_paths(self.index.spec, schema)

    def finish(self, result: DiffResult) -> DiffResult:
        result.seconds = time.perf_counter() - self.started
        return result
