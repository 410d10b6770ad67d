"""HAR 1.2 recordings (what browser developer tools export): exchanges in, a redacted file out,
and a recording, from apitwin or a browser, read back as exchanges to replay.

Redaction happens on the way out, so a recording never holds a credential: headers and query
parameters named like one (the journal's rule), body fields named like a token or secret, and
every secret value the caller registered (given credentials, tokens obtained) wherever it appears.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import json
import pathlib
import re
import urllib.parse
from collections.abc import Callable, Iterable
from http import HTTPStatus

from apitwin import __version__
from apitwin.pipeline.journal import is_secret

REDACTED = "[REDACTED]"
HAR_VERSION = "1.2"
# Body fields are matched more narrowly than headers: Meiro's `author_id` is no credential.
_SECRET_FIELD = re.compile(r"token|secret|passw|api[-_]?key|credential", re.I)
_TEXT_TYPES = ("json", "text", "xml", "x-www-form-urlencoded", "javascript", "html")


class HarError(ValueError):
    """The file is not a HAR recording apitwin can replay: a usage error."""


@dataclasses.dataclass
class Exchange:
    """One request and its answer, as sent and received (headers in order, bodies as bytes)."""

    method: str
    url: str  # absolute, query included
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes
    started: datetime.datetime
    elapsed_ms: float = 0.0

    def request_header(self, name: str) -> str | None:
        return _header(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return _header(self.response_headers, name)


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)


Scrub = Callable[[str], str]  # removes registered secret values from a text (a Redactor)


def _no_values(text: str) -> str:
    return text


def _redact_header(name: str, value: str) -> str:
    if not is_secret(name):
        return value
    scheme, _, rest = value.partition(" ")
    return f"{scheme} {REDACTED}" if name.lower().endswith("authorization") and rest else REDACTED


def _redact_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if not parts.query:
        return url
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if not any(is_secret(name) for name, _ in pairs):
        return url
    kept = [(name, REDACTED if is_secret(name) else value) for name, value in pairs]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(kept)))


def _redact_fields(value):
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET_FIELD.search(str(key)) else _redact_fields(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_fields(item) for item in value]
    return value


def _redact_body(body: bytes, media_type: str) -> bytes:
    if not body:
        return body
    if "json" in media_type or not media_type:  # a body sent without a type may be JSON
        try:
            document = json.loads(body)
        except ValueError:
            return body
        return json.dumps(_redact_fields(document), separators=(",", ":")).encode()
    if "x-www-form-urlencoded" in media_type:
        pairs = urllib.parse.parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        kept = [(key, REDACTED if _SECRET_FIELD.search(key) else item) for key, item in pairs]
        return urllib.parse.urlencode(kept).encode()
    return body


def _secret_field(key: str) -> bool:
    # OAuth2's token_type ("Bearer") names a scheme, not a secret: masking it would blank out
    # every "Bearer" in the output.
    return _SECRET_FIELD.search(key) is not None and key.lower() != "token_type"


def _field_values(value) -> list[str]:
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            for found in (
                [item] if isinstance(item, str) and _secret_field(str(key)) else _field_values(item)
            )
        ]
    if isinstance(value, list):
        return [found for item in value for found in _field_values(item)]
    return []


def _body_secrets(body: bytes, media_type: str) -> list[str]:
    if not body:
        return []
    if "x-www-form-urlencoded" in media_type:
        pairs = urllib.parse.parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        return [value for key, value in pairs if _secret_field(key)]
    try:
        return _field_values(json.loads(body))
    except ValueError:
        return []


def _header_secrets(name: str, value: str) -> list[str]:
    lower = name.lower()
    if lower == "set-cookie":  # name=value; attributes: only the value is the secret
        return [value.split(";", 1)[0].partition("=")[2]]
    if lower == "cookie":
        return [part.partition("=")[2] for part in value.split(";")]
    found = [value]
    scheme, _, credentials = value.strip().partition(" ")
    if lower.endswith("authorization") and credentials:
        found.append(credentials.strip())
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode()
            except ValueError:
                decoded = ""
            found += [decoded, decoded.partition(":")[2]]
    return found


def secrets_of(exchange: Exchange) -> list[str]:
    """The credential values an exchange carries, for a Redactor to mask wherever they appear:
    credential-named headers (an Authorization header's credentials alone too, Basic decoded),
    cookies, credential-named query parameters, and body fields named like a token or secret
    (a token the API answered with included). `apitwin proxy` learns a client's credentials so."""
    found = []
    for name, value in [*exchange.request_headers, *exchange.response_headers]:
        if is_secret(name):
            found += _header_secrets(name, value)
    query = urllib.parse.urlsplit(exchange.url).query
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    found += [value for name, value in pairs if is_secret(name)]
    found += _body_secrets(exchange.request_body, exchange.request_header("content-type") or "")
    found += _body_secrets(exchange.response_body, exchange.response_header("content-type") or "")
    return [value.strip() for value in found if value and value.strip()]


def _content(body: bytes, media_type: str, scrub: Scrub) -> dict:
    """HAR content: text when the body is text, else base64 (HAR's `encoding` field)."""
    if not media_type or any(kind in media_type for kind in _TEXT_TYPES):
        try:
            return {"size": len(body), "mimeType": media_type, "text": scrub(body.decode())}
        except UnicodeDecodeError:
            pass
    return {
        "size": len(body),
        "mimeType": media_type,
        "text": base64.b64encode(body).decode(),
        "encoding": "base64",
    }


def _pairs(headers: Iterable[tuple[str, str]], scrub: Scrub) -> list[dict]:
    return [{"name": k, "value": scrub(_redact_header(k, v))} for k, v in headers]


def entry(exchange: Exchange, scrub: Scrub = _no_values) -> dict:
    """One HAR entry for an exchange, every credential redacted."""
    url = scrub(_redact_query(exchange.url))
    query = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    request_type = exchange.request_header("content-type") or ""
    response_type = exchange.response_header("content-type") or ""
    request = {
        "method": exchange.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _pairs(exchange.request_headers, scrub),
        "queryString": [{"name": name, "value": value} for name, value in query],
        "headersSize": -1,
        "bodySize": len(exchange.request_body),
    }
    if exchange.request_body:
        body = _redact_body(exchange.request_body, request_type)
        content = _content(body, request_type, scrub)
        request["postData"] = {"mimeType": request_type, "text": content["text"]}
        if "encoding" in content:  # not in HAR 1.2's postData; read back by `exchanges`
            request["postData"]["encoding"] = content["encoding"]
    response_body = _redact_body(exchange.response_body, response_type)
    return {
        "startedDateTime": exchange.started.isoformat(timespec="milliseconds"),
        "time": round(exchange.elapsed_ms, 3),
        "request": request,
        "response": {
            "status": exchange.status,
            "statusText": _status_text(exchange.status),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(exchange.response_headers, scrub),
            "content": _content(response_body, response_type, scrub),
            "redirectURL": exchange.response_header("location") or "",
            "headersSize": -1,
            "bodySize": len(exchange.response_body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": round(exchange.elapsed_ms, 3), "receive": 0},
    }


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def document(entries: list[dict]) -> dict:
    return {
        "log": {
            "version": HAR_VERSION,
            "creator": {"name": "apitwin", "version": __version__},
            "entries": entries,
        }
    }


def write(path: pathlib.Path, entries: list[dict]) -> None:
    """Write the recording whole, through a temporary file, so a reader never sees half of it."""
    path = pathlib.Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document(entries), indent=1) + "\n", encoding="utf-8")
    partial.replace(path)


def write_serialized(path: pathlib.Path, entries: list[str]) -> None:
    """`write` for entries already serialized one by one (`json.dumps(entry(...))`): a recording
    that grows while it is rewritten serializes each entry once, not at every rewrite."""
    path = pathlib.Path(path)
    log = document([])["log"]
    head = json.dumps({"version": log["version"], "creator": log["creator"]})[:-1]  # open
    text = '{"log": ' + head + ', "entries": [\n' + ",\n".join(entries) + "\n]}}\n"
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _decoded(content: dict | None) -> bytes:
    if not content or content.get("text") is None:
        return b""
    text = content["text"]
    if content.get("encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


def _started(value) -> datetime.datetime:
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.datetime.now(datetime.UTC)


def _header_list(items, where: str) -> list[tuple[str, str]]:
    if not isinstance(items, list):
        raise HarError(f"{where}: headers is not a list")
    try:
        return [(str(item["name"]), str(item["value"])) for item in items]
    except (KeyError, TypeError):
        raise HarError(f"{where}: a header without name and value") from None


def exchanges(path: pathlib.Path) -> list[Exchange]:
    """A recording's exchanges in order. Browser exports are read as well as apitwin's own:
    HTTP/2 pseudo-headers (`:authority`) are dropped, bodies may be text or base64."""
    try:
        log = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))["log"]
        raw_entries = log["entries"]
    except FileNotFoundError:
        raise HarError(f"{path}: no such file") from None
    except (ValueError, KeyError, TypeError):
        raise HarError(f"{path}: not a HAR file (no log.entries)") from None
    if not isinstance(raw_entries, list):
        raise HarError(f"{path}: log.entries is not a list")
    found = []
    for number, raw in enumerate(raw_entries, 1):
        where = f"{path}: entry {number}"
        try:
            request, response = raw["request"], raw["response"]
            method, url = str(request["method"]).upper(), str(request["url"])
            status = int(response.get("status") or 0)
        except (KeyError, TypeError, ValueError):
            raise HarError(f"{where}: no request method and url, or no response") from None
        if not urllib.parse.urlsplit(url).scheme:
            raise HarError(f"{where}: url {url!r} is not absolute")
        headers = [
            pair
            for pair in _header_list(request.get("headers", []), where)
            if not pair[0].startswith(":")
        ]
        found.append(
            Exchange(
                method=method,
                url=url,
                request_headers=headers,
                request_body=_decoded(request.get("postData")),
                status=status,
                response_headers=[
                    pair
                    for pair in _header_list(response.get("headers", []), where)
                    if not pair[0].startswith(":")
                ],
                response_body=_decoded(response.get("content")),
                started=_started(raw.get("startedDateTime")),
                elapsed_ms=float(raw.get("time") or 0),
            )
        )
    return found
