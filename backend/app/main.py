"""Builds the orchestrator's FastAPI app: routes, error mapping, CORS, body limits, the dashboard build."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response

from backend.app.api.routes import (
    attack,
    chain,
    datasets,
    events,
    experiments,
    models,
    nodes,
    protocol,
    service,
)
from backend.app.limits import BodyLimitMiddleware
from backend.chain.errors import ChainError
from backend.intake import SubmissionRejected
from backend.orchestrator.errors import (
    ChainUnavailable,
    Conflict,
    InvalidInput,
    NotFound,
    OrchestratorError,
    TooLarge,
)
from backend.orchestrator.service import Orchestrator
from backend.settings import Settings, get_settings

log = logging.getLogger("fedshield.api")

_STATUS: dict[type[OrchestratorError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    TooLarge: 413,
    ChainUnavailable: 503,
}


def _error(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def _validation_text(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:10]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OrchestratorError)
    async def orchestrator_error(_: Request, exc: OrchestratorError) -> JSONResponse:
        status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
        return _error(status, str(exc))

    @app.exception_handler(ChainError)
    async def chain_error(_: Request, exc: ChainError) -> JSONResponse:
        return _error(503, f"chain unavailable: {exc}")

    @app.exception_handler(SubmissionRejected)
    async def submission_rejected(_: Request, exc: SubmissionRejected) -> JSONResponse:
        return _error(exc.status_code, exc.reason)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()[:50]]
        return _error(422, _validation_text(exc), errors=errors)


def _install_dashboard(app: FastAPI, dist: Path) -> None:
    """Serves the dashboard's production build at / (SPA: unknown non-API paths get index.html)."""
    index = dist / "index.html"
    root = dist.resolve()

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    def read_dashboard(path: str) -> Response:
        if path == "api" or path.startswith("api/"):
            return _error(404, f"no API route /{path}")
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


def create_app(settings: Settings | None = None, orchestrator: Orchestrator | None = None) -> FastAPI:
    """The app; it builds (or adopts) an orchestrator at start-up and stops it at shutdown."""
    settings = settings or (orchestrator.settings if orchestrator else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = orchestrator is None
        running = (
            orchestrator if orchestrator is not None else await asyncio.to_thread(Orchestrator, settings)
        )
        app.state.orchestrator = running
        running.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            if owned:
                await asyncio.to_thread(running.stop)
            else:
                running.bus.close()

    app = FastAPI(
        title="FedShield orchestrator",
        summary="Federated learning that screens every update and settles each round on chain.",
        version="0.1.0",
        lifespan=lifespan,
    )
    if orchestrator is not None:
        app.state.orchestrator = orchestrator
    _install_error_handlers(app)
    for router in (service, datasets, models, experiments, nodes, protocol, attack, events, chain):
        app.include_router(router.router)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        expose_headers=["X-Model-Hash"],
    )
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=2 * 1024 * 1024,
        limits={
            "/api/datasets": settings.max_upload_bytes + 64 * 1024,
            "/updates": settings.max_update_bytes + 64 * 1024,
        },
    )
    if (settings.frontend_dist / "index.html").is_file():
        _install_dashboard(app, settings.frontend_dist)
    return app
