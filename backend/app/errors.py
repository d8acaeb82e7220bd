"""How the API answers errors, and how its OpenAPI schema says so.

Every error is one JSON shape, `ErrorBody`: ``{"detail": "<text naming what was wrong>"}``; a request that
fails validation (422) adds ``errors``, the first issues as pydantic reports them. The handlers here map
each domain error to its status, and `document_errors` declares on every operation the error statuses
it can answer, inferred from what the operation takes (a body, path parameters, the admin token) plus the
domain statuses its router names, so the schema and the server cannot drift apart route by route.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, APIRouter
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.app.deps import require_admin
from backend.chain.errors import ChainError
from backend.engine.intake import SubmissionRejected
from backend.orchestrator.errors import (
    ChainUnavailable,
    Conflict,
    InvalidInput,
    NotEligible,
    NotFound,
    OrchestratorError,
    TooLarge,
    Unauthenticated,
)
from workers.validation import validation_text

_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
MAX_REPORTED_ISSUES = 50  # validation issues listed in `errors` (the text names the first 10)

_STATUS: dict[type[OrchestratorError], int] = {
    Unauthenticated: 401,
    NotEligible: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    TooLarge: 413,
    ChainUnavailable: 503,
}

# What each error status means on this API, as the schema describes it.
DESCRIPTIONS: dict[int, str] = {
    400: "Body not readable as its content type (JSON that is not UTF-8, broken multipart framing)",
    401: "Admin token missing (send `Authorization: Bearer <FEDSHIELD_ADMIN_TOKEN>`), or a signature that is "
    "not the wallet's own",
    403: "Refused: a Host that does not name this server, a browser request from another origin, the admin "
    "token wrong, admin actions disabled (listening beyond localhost without a token), or the wallet has no "
    "eligible stake on chain",
    404: "No such resource (the detail names what was looked up)",
    409: "The request conflicts with the resource's current state",
    410: "Gone: the round's deadline has passed",
    413: "Request body over its size limit (the detail names the limit)",
    422: "Invalid input: the detail names each field and what was wrong with it",
    503: "The chain cannot be reached now",
}


class ValidationIssue(BaseModel):
    loc: list[str | int]  # where: "body" / "query" / "path" / "header", then field names and list indices
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error answer: a text naming what was wrong; `errors` only on request validation (422)."""

    detail: str
    errors: list[ValidationIssue] | None = None


def error(status: int, detail: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OrchestratorError)
    async def orchestrator_error(_: Request, exc: OrchestratorError) -> JSONResponse:
        status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
        return error(status, str(exc))

    @app.exception_handler(ChainError)
    async def chain_error(_: Request, exc: ChainError) -> JSONResponse:
        return error(503, f"chain unavailable: {exc}")

    @app.exception_handler(SubmissionRejected)
    async def submission_rejected(_: Request, exc: SubmissionRejected) -> JSONResponse:
        return error(exc.status_code, exc.reason)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        issues = [
            {k: v for k, v in e.items() if k in ("loc", "msg", "type")}
            for e in exc.errors()[:MAX_REPORTED_ISSUES]
        ]
        return JSONResponse({"detail": validation_text(exc.errors()), "errors": issues}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if not is_body_allowed_for_status_code(exc.status_code):
            return Response(status_code=exc.status_code, headers=exc.headers)
        detail, headers = str(exc.detail), dict(exc.headers or {})
        limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
        if exc.status_code == 413 and isinstance(limit, int):  # Starlette's body limit says no more
            detail = _too_large(limit, request.url.path)
        if exc.status_code == 405:  # Starlette names the methods of the first route matched, not all
            documented = allowed_methods(request.app, request.url.path)  # none: the dashboard's own paths
            allowed = ", ".join(documented) if documented else headers.get("Allow", "")
            headers["Allow"] = allowed
            detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
        return error(exc.status_code, detail, headers)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the schema documents for `path` (the union over the operations matching it)."""
    patterns: list[tuple[re.Pattern[str], list[str]]] | None = getattr(app.state, "method_patterns", None)
    if patterns is None:
        patterns = [
            (compile_path(template)[0], [m.upper() for m in item if m in _HTTP_METHODS])
            for template, item in app.openapi().get("paths", {}).items()
        ]
        app.state.method_patterns = patterns
    return sorted({m for pattern, methods in patterns if pattern.match(path) for m in methods})


_REWRITTEN_HEADERS = (b"content-type", b"content-length")
_CLOSE = (b"connection", b"close")


def _without_connection(start: Message) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in start.get("headers", []) if k.lower() != b"connection"]


def _is_plain_413(start: Message) -> bool:
    content_type: bytes = dict(start.get("headers", [])).get(b"content-type", b"")
    return bool(start["status"] == 413 and content_type.startswith(b"text/plain"))


def _too_large(limit: object, path: str) -> str:
    return f"request body is over the limit of {limit} bytes for {path}"


class BodyLimitAnswersInJson:
    """Starlette's body limit answers a body *declared* over the limit with its own plain-text 413, in
    place of whatever the route answered; this rewrites that one into the API's `ErrorBody` naming the
    limit. (A body that grows past the limit while streaming reaches the HTTPException handler instead.)

    Any answer sent before the request's body was read to its end (a 413, a 400 for broken framing, a
    refusal) also says ``Connection: close``: the server then closes the connection once the answer is
    sent. Kept open, uvicorn would read (and throw away) the rest of the body, however long the sender
    keeps it coming.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        headers = dict(scope.get("headers", []))
        body_read = (
            headers.get(b"content-length", b"0").strip() == b"0" and b"transfer-encoding" not in headers
        )

        async def receive_counted() -> Message:
            nonlocal body_read
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read = True
            return message

        async def send_json(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and not body_read:
                message = {**message, "headers": [*_without_connection(message), _CLOSE]}
            if message["type"] == "http.response.start" and _is_plain_413(message):
                held = message  # the limiter's own answer: its body follows in one message
                return
            if held is not None and message["type"] == "http.response.body":
                detail = _too_large(scope.get(MAX_BODY_SIZE_SCOPE_KEY), scope["path"])
                encoded = json.dumps({"detail": detail}).encode()
                kept = [(k, v) for k, v in held.get("headers", []) if k not in _REWRITTEN_HEADERS]
                length = str(len(encoded)).encode()
                await send(
                    {
                        **held,
                        "headers": [
                            *kept,
                            (b"content-type", b"application/json"),
                            (b"content-length", length),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": encoded})
                held = None
                return
            await send(message)

        await self.app(scope, receive_counted, send_json)


def _takes_admin_token(route: APIRoute) -> bool:
    return any(d.call is require_admin for d in route.dependant.dependencies)


def _takes_input(route: APIRoute) -> bool:
    dependant = route.dependant
    flat = [dependant, *dependant.dependencies]
    return route.body_field is not None or any(
        d.path_params or d.query_params or d.header_params or d.cookie_params for d in flat
    )


def error_statuses(
    route: APIRoute, *, state_changes: Iterable[int] = (), always: Iterable[int] = ()
) -> set[int]:
    """The error statuses `route` can answer: from what it takes, plus its router's domain statuses.

    `state_changes` apply to POST / PUT operations (e.g. 409 for a transition the current state refuses),
    `always` to every operation of the router (e.g. 503 where answering needs the chain).
    """
    statuses = set(always) | {403}  # every request passes the Host and Origin checks (app/request_origin.py)
    if (route.methods or set()) & {"POST", "PUT"}:
        statuses |= set(state_changes) | {413}  # every body is limited (JSON and uploads alike)
    if route.body_field is not None:
        statuses.add(400)
    if _takes_admin_token(route):
        statuses.add(401)
    if route.dependant.path_params:
        statuses.add(404)
    if _takes_input(route):
        statuses.add(422)
    return statuses


def document_errors(
    router: APIRouter, *, state_changes: Iterable[int] = (), always: Iterable[int] = ()
) -> None:
    """Declares `ErrorBody` for every error status each operation of `router` can answer (idempotent).

    A description the route gives itself (``responses={409: {...}}``) is kept; FastAPI's own 422 schema,
    an array of issues, is replaced: this API's 422 `detail` is the text `validation_text` writes.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        declared: dict[int | str, dict[str, Any]] = dict(route.responses)
        for status in sorted(
            error_statuses(route, state_changes=state_changes, always=always) | _errors_in(declared)
        ):
            own = declared.get(status, {})
            declared[status] = {
                **own,
                "model": ErrorBody,
                "description": own.get("description", DESCRIPTIONS.get(status, "Error")),
            }
        route.responses = declared


def _errors_in(responses: Mapping[int | str, Any]) -> set[int]:
    return {int(code) for code in responses if str(code).isdigit() and int(code) >= 400}
