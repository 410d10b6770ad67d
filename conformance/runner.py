"""One conformance run: spec + settings + credentials in, a RunResult out."""

from __future__ import annotations

import dataclasses

import schemathesis
from schemathesis.engine import from_schema

from . import auth, safety, target
from .credentials import Credentials, Redactor
from .known import Deviation, KnownDeviations
from .profiles import ApiProfile
from .results import Collector, RunResult
from .settings import RunSettings


def load_schema(profile: ApiProfile, settings: RunSettings):
    schema = schemathesis.openapi.from_path(
        profile.spec_path, config=settings.schemathesis_config()
    )
    if settings.read_only:
        schema.hook(safety.filter_case)
    return schema


@dataclasses.dataclass
class Prepared:
    schema: object  # schemathesis schema with auth, hooks and filters installed
    known: KnownDeviations
    tokens: auth.TokenSource | None  # Ylem: where Bearer tokens come from


def prepare(
    profile: ApiProfile,
    settings: RunSettings,
    credentials: Credentials,
    redactor: Redactor,
    deviations: list[Deviation],
):
    """The schema ready to run: reachable target, credentials accepted, hooks installed.

    Raises auth.TargetError (a usage error) before any test runs when something is wrong.
    """
    target.check_reachable(settings.base_url, settings.request_timeout)
    schema = load_schema(profile, settings)
    tokens = auth.install(
        schema, profile, credentials, settings.base_url, redactor, settings.request_timeout
    )
    target.check_credentials_accepted(
        schema.raw_schema,
        settings.base_url,
        auth.probe_headers(profile, credentials),
        settings.request_timeout,
    )
    known = KnownDeviations(profile.name, deviations)
    known.install(schema)
    return Prepared(schema, known, tokens)


def run(
    profile: ApiProfile,
    settings: RunSettings,
    credentials: Credentials,
    *,
    target_kind: str = target.URL,
    deviations: list[Deviation] = (),
    listeners=(),
    redactor: Redactor | None = None,
) -> RunResult:
    redactor = redactor or Redactor(credentials.secrets())
    prepared = prepare(profile, settings, credentials, redactor, list(deviations))
    schema = prepared.schema
    result = RunResult(
        api=profile.name,
        base_url=settings.base_url,
        target=target_kind,
        seed=schema.config.seed,
        settings=dataclasses.asdict(settings),
    )
    collector = Collector(result, redactor, schema.config.output.sanitization)
    for event in from_schema(schema).execute():
        collector.on_event(event)
        for listener in listeners:
            listener(event)
    for hit in prepared.known.hits.values():
        result.operation(hit.operation).known.append(hit)
    if prepared.tokens is not None:
        result.tokens_fetched = prepared.tokens.fetched
    return result
