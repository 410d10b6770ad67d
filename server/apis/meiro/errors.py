"""Meiro's native error body, `{"message": "..."}`, for every error the twin sends (M25)."""

from __future__ import annotations

# What the real API answers to a missing, unknown or expired token (shared notes).
INVALID_CREDENTIALS = "Invalid credentials have been provided"


def render_error(status: int, detail: str, path: str, fields: dict) -> dict:
    if status == 401:
        return {"message": INVALID_CREDENTIALS}
    return {"message": detail}
