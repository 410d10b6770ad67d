"""The X-Access-Token check: the tokens the twin was started with (`meiro_tokens`)."""

from __future__ import annotations

import hmac

from apitwin.pipeline.security import security_map as bind


def security_map(twin) -> dict:
    def check_token(token: str) -> dict | None:
        accepted = twin.options.meiro_tokens
        if any(hmac.compare_digest(token.encode(), good.encode()) for good in accepted):
            return {"sub": "meiro-api-user"}
        return None

    return bind(apikey=check_token)
