"""Typed errors raised by the state layer, and the one place that turns them into HTTP.

Each API renders its own native error body (see the specs' error responses); the twin sends it as
application/problem+json with the RFC 7807 members added (decision G3 in specs/DECISIONS.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from connexion.http_facts import HTTP_STATUS_CODES
from connexion.lifecycle import ConnexionResponse
from starlette.responses import Response

PROBLEM = "application/problem+json"


class TwinError(Exception):
    status = 500

    def __init__(self, detail: str, *, status: int | None = None, **fields) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        # Native body fields an API renderer may use (e.g. Ylem's OAuth `error` code).
        self.fields = fields
        self.headers: dict[str, str] = {}


class BadRequest(TwinError):
    status = 400


class Unauthorized(TwinError):
    status = 401


class Forbidden(TwinError):
    status = 403


class NotFound(TwinError):
    status = 404


class Conflict(TwinError):
    status = 409


# An API's renderer: (status, detail, path, fields) -> native body fields.
Renderer = Callable[[int, str, str, dict], dict]


def problem_response(
    status: int, detail: str, native: dict, headers: dict[str, str] | None = None
) -> ConnexionResponse:
    body = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **native,
    }
    return ConnexionResponse(
        status_code=status,
        mimetype=PROBLEM,
        content_type=PROBLEM,
        body=json.dumps(body),
        headers=headers or {},
    )


def problem_asgi(
    status: int, detail: str, native: dict, headers: dict[str, str] | None = None
) -> Response:
    """problem_response as a Starlette response, for the layers that answer before routing."""
    problem = problem_response(status, detail, native, headers)
    return Response(
        problem.body, problem.status_code, headers=problem.headers, media_type=problem.mimetype
    )
