"""Dependencies of the routes, as type aliases (`SessionDep`, `OrchestratorDep`, `AdminDep`), the bounds of
path and query parameters, and `strict_json_body`, which every route runs."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from backend.orchestrator.service import Orchestrator
from backend.orchestrator.specs import ADDRESS_PATTERN
from backend.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="Admin token (FEDSHIELD_ADMIN_TOKEN)")


async def get_orchestrator(request: Request) -> Orchestrator:
    """Async, so resolving it costs no hop to the threadpool (a sync dependency runs on a worker thread)."""
    orchestrator: Orchestrator = request.app.state.orchestrator
    return orchestrator


OrchestratorDep = Annotated[Orchestrator, Depends(get_orchestrator)]


def get_settings_dep(orchestrator: OrchestratorDep) -> Settings:
    return orchestrator.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_db(orchestrator: OrchestratorDep) -> Iterator[Session]:
    with orchestrator.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


def require_admin(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Admin actions need the bearer token when one is configured (always, when listening beyond localhost)."""
    token = settings.admin_token.get_secret_value() if settings.admin_token is not None else None
    if token is None:
        if settings.listens_beyond_localhost:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "admin actions are disabled: the orchestrator listens beyond localhost without FEDSHIELD_ADMIN_TOKEN",
            )
        return
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "admin token required: send `Authorization: Bearer <FEDSHIELD_ADMIN_TOKEN>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "admin token is wrong", headers={"WWW-Authenticate": "Bearer"}
        )


AdminDep = Depends(require_admin)


def holds_admin_rights(settings: SettingsDep, request: Request) -> bool:
    """Whether the caller may see what only the operator's own nodes see (the simulation block of a task):
    no token configured on loopback, or the right bearer token sent. Never raises: others get the public
    part. Read from the header itself, so the schema does not list the token as required where it is not.
    """
    token = settings.admin_token.get_secret_value() if settings.admin_token is not None else None
    if token is None:
        return not settings.listens_beyond_localhost
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())


AdminRights = Annotated[bool, Depends(holds_admin_rights)]


MAX_ID = 2**31 - 1  # ids and round numbers fit a 32-bit integer column on every database
MAX_EVENT_ID = 2**62  # event ids are 64-bit columns; this leaves headroom for `id + 1` in SQL
ExperimentId = Annotated[int, Path(ge=1, le=MAX_ID, description="experiment id", examples=[1])]
RoundNumber = Annotated[int, Path(ge=1, le=MAX_ID, description="round number (1-based)", examples=[1])]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Cursor = Annotated[int, Query(ge=0, le=MAX_EVENT_ID, description="event id")]
_EXAMPLE_WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
WalletPath = Annotated[
    str, Path(pattern=ADDRESS_PATTERN, description="0x wallet address", examples=[_EXAMPLE_WALLET])
]
WalletQuery = Annotated[
    str,
    Query(pattern=ADDRESS_PATTERN, description="the node's 0x wallet address", examples=[_EXAMPLE_WALLET]),
]
OptionalWallet = Annotated[str | None, Query(pattern=ADDRESS_PATTERN, description="0x wallet address")]


async def strict_json_body(request: Request) -> None:
    """A JSON body is taken only as its schema reads: `true` is no integer and `"5"` no number.

    Pydantic's lax mode, which FastAPI validates bodies in, would coerce them (`false` -> 0), so a body
    the published schema rejects could be accepted. This validates the same model strictly first; a JSON
    number with a zero fraction (`3.0`) stays an integer, as JSON Schema counts it.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != "application/json":
        return
    try:
        data = await request.json()  # already read and cached by FastAPI for the route itself
    except ValueError:
        return  # not JSON: FastAPI's own parsing answers that
    model: Any = route.body_field.field_info.annotation
    try:
        _strict_adapter(model).validate_python(_integral_floats_as_ints(data), strict=True)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


@functools.cache
def _strict_adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _integral_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    return value
