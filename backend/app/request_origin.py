"""Who may talk to the orchestrator through a browser: the Host and Origin checks against cross-site requests
and DNS rebinding.

A page on another site can make the visitor's browser POST to ``http://127.0.0.1:8000`` (cross-site
request), or resolve its own name to 127.0.0.1 and then read the answers as same-origin (DNS rebinding).
So every request must name this server in ``Host`` (a loopback name, the configured host, the address the
connection came in on, or a configured extra name, at the port it came in on), and an API request a
browser sends from another origin (``Origin``, or ``Sec-Fetch-Site: cross-site``) is refused unless that
origin is one of the configured CORS origins. Nodes are not browsers: they send no ``Origin`` and pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.settings import LOOPBACK_HOSTS

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# Paths a browser on another site must not drive or read; the dashboard's own pages stay linkable.
GUARDED_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json")


def split_host(host: str) -> tuple[str, int | None] | None:
    """``name[:port]`` (``[v6]:port`` for IPv6) as (lowercase name without brackets, port); None if malformed."""
    host = host.strip().lower()
    if host.startswith("["):
        name, bracket, rest = host[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
    else:
        name, colon, port_text_ = host.rpartition(":")
        if not colon:
            name, port_text = host, None
        elif ":" in name:  # a bare IPv6 address without brackets is no Host
            return None
        else:
            port_text = port_text_
    if not name:
        return None
    if port_text is None:
        return name, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name, int(port_text)


def host_refusal(host: str | None, allowed_names: Iterable[str], port: int, scheme: str) -> str | None:
    """Why a ``Host`` header does not name this server listening on ``port``, or None when it does."""
    if not host:
        return "the Host header is missing"
    parsed = split_host(host)
    if parsed is None:
        return f"the Host header {host[:100]!r} is malformed"
    name, given_port = parsed
    names = {n.strip("[]").lower() for n in allowed_names}
    if name not in names:
        return f"the Host {host[:100]!r} is not a name of this server (DNS rebinding?)"
    if (given_port if given_port is not None else DEFAULT_PORTS.get(scheme, 80)) != port:
        return f"the Host {host[:100]!r} names another port than this server's ({port})"
    return None


def origin_refusal(
    origin: str | None, fetch_site: str | None, own_origin: str, trusted_origins: Iterable[str]
) -> str | None:
    """Why a request is cross-site and refused, or None: no Origin (not a browser, or a same-origin GET)
    passes unless the browser itself says ``Sec-Fetch-Site: cross-site``."""
    trusted = {o.rstrip("/").lower() for o in trusted_origins}
    if origin is not None:
        normalized = origin.strip().rstrip("/").lower()
        if normalized == own_origin.lower() or normalized in trusted:
            return None
        return f"cross-site request refused: Origin {origin[:100]!r} is not this server ({own_origin})"
    if fetch_site is not None and fetch_site.strip().lower() == "cross-site":
        return "cross-site request refused: the browser says Sec-Fetch-Site: cross-site"
    return None


@dataclass(frozen=True)
class SameOriginGuard:
    """ASGI middleware answering 403 to a request with a foreign Host, or an API request from another origin."""

    app: ASGIApp
    host_names: frozenset[str]  # beside the loopback names and the address each connection came in on
    trusted_origins: tuple[str, ...]  # the configured CORS origins (the dashboard's dev server)
    default_port: int  # when the server cannot say which port a connection came in on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"detail": refusal}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def refusal(self, scope: Scope) -> str | None:
        headers = Headers(scope=scope)
        server = scope.get("server")
        local_name, port = (server[0], server[1]) if server else (None, self.default_port)
        names = {*LOOPBACK_HOSTS, *self.host_names, *([local_name] if local_name else [])}
        scheme = scope.get("scheme", "http")
        host = headers.get("host")
        refused = host_refusal(host, names, port, scheme)
        if refused is not None:
            return refused
        path: str = scope.get("path", "")
        if not path.startswith(GUARDED_PREFIXES):
            return None
        own = f"{'https' if scheme in ('https', 'wss') else 'http'}://{(host or '').strip()}"
        return origin_refusal(headers.get("origin"), headers.get("sec-fetch-site"), own, self.trusted_origins)
