"""The baseline: one bare Starlette route on uvicorn (uvloop, httptools) answering fixed bytes.

It answers each benchmarked request with the very bytes apitwin gave for it, so the two differ
only in what the twin does to produce them (routing, security, validation, state, JSON).

    python -m bench.bare PORT ANSWERS.json    # {"GET /path": {"status": 200, "body": "..."}}
"""

from __future__ import annotations

import json
import sys

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route


def build(answers: dict[str, dict]) -> Starlette:
    fixed = {key: (a["status"], a["body"].encode()) for key, a in answers.items()}

    async def answer(request):
        status, body = fixed.get(f"{request.method} {request.url.path}", (404, b"{}"))
        return Response(body, status_code=status, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])


def main(argv: list[str]) -> None:
    import uvicorn

    port, answers_file = int(argv[0]), argv[1]
    with open(answers_file, encoding="utf-8") as handle:
        app = build(json.load(handle))
    uvicorn.run(
        app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
