"""Run settings, and the schemathesis configuration they translate into.

One `RunSettings` drives both entry points (the `apitwin conform` CLI, and the suite as pytest
tests through conformance/plugin.py), so a run means the same thing either way.
"""

from __future__ import annotations

import dataclasses

PHASES = ("examples", "coverage", "fuzzing", "stateful")

# Every schemathesis check the suite runs, in the order reports list them.
# object_level_authorization needs two users' credentials; max_response_time needs a budget.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "ignored_auth",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
)

# Safe mode sends only what a well-behaved client sends; these checks work by sending requests
# that are wrong on purpose (no credentials, a missing header, a method the path lacks, bad data).
PROVOKING_CHECKS = frozenset(
    {"negative_data_rejection", "ignored_auth", "missing_required_header", "unsupported_method"}
)
SAFE_METHODS = ("GET", "HEAD")

DEFAULT_MAX_EXAMPLES = 50


@dataclasses.dataclass
class RunSettings:
    base_url: str
    seed: int | None = None
    max_examples: int = DEFAULT_MAX_EXAMPLES
    workers: int = 1
    phases: tuple[str, ...] = PHASES
    checks: tuple[str, ...] = CHECKS
    request_timeout: float = 10.0
    rate_limit: str | None = None  # schemathesis syntax: "100/m", "10/s"
    read_only: bool = False
    operations: tuple[str, ...] = ()  # operationIds to limit the run to; empty: all

    def effective_checks(self) -> tuple[str, ...]:
        if self.read_only:
            return tuple(check for check in self.checks if check not in PROVOKING_CHECKS)
        return self.checks

    def schemathesis_config(self):
        from schemathesis.config import SchemathesisConfig  # heavy: only when a run starts

        from . import checks as _refined  # noqa: F401  (registers the refined checks)

        checks = self.effective_checks()
        generation = {
            "mode": "positive" if self.read_only else "all",
            "max-examples": self.max_examples,
            # No example database: a run depends on its seed alone, not on earlier runs.
            "database": "none",
        }
        coverage = {"enabled": "coverage" in self.phases}
        if self.read_only:
            coverage["unexpected-methods"] = []
        data = {
            "base-url": self.base_url,
            "workers": self.workers,
            "request-timeout": self.request_timeout,
            "generation": generation,
            "checks": {
                name: {"enabled": name in checks}
                | ({"validate-formats": True} if name == "response_schema_conformance" else {})
                for name in CHECKS
            }
            | {"object_level_authorization": {"enabled": False}},
            "phases": {
                "examples": {"enabled": "examples" in self.phases, "fill-missing": True},
                "coverage": coverage,
                "fuzzing": {"enabled": "fuzzing" in self.phases},
                "stateful": {"enabled": "stateful" in self.phases},
            },
            # The on-disk cache replays requests from earlier runs: off, for reproducible runs.
            "cache": {"enabled": False},
        }
        # The selection, as `[[operations]]` entries turned off rather than filters on the schema:
        # schemathesis' pytest entry point rebuilds the fixture's schema from its config and drops
        # such filters. Each entry deselects on its own, so `--operation` and `--read-only` narrow
        # together.
        data["operations"] = []
        if self.operations:
            data["operations"].append(
                {"exclude-operation-id": list(self.operations), "enabled": False}
            )
        if self.read_only:
            data["operations"].append({"exclude-method": list(SAFE_METHODS), "enabled": False})
        if self.seed is not None:
            data["seed"] = self.seed
        if self.rate_limit:
            data["rate-limit"] = self.rate_limit
        return SchemathesisConfig.from_dict(data)
