"""Dependencies of the routes, as type aliases (`SessionDep`, `OrchestratorDep`, `AdminDep`)."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from backend.orchestrator.service import Orchestrator
from backend.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="Admin token (FEDSHIELD_ADMIN_TOKEN)")


def get_orchestrator(request: Request) -> Orchestrator:
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


MAX_ID = 2**31 - 1  # ids and round numbers fit a 32-bit integer column on every database
ExperimentId = Annotated[int, Path(ge=1, le=MAX_ID, description="experiment id", examples=[1])]
RoundNumber = Annotated[int, Path(ge=1, le=MAX_ID, description="round number (1-based)", examples=[1])]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Cursor = Annotated[int, Query(ge=0, le=2**62, description="event id")]
