"""Builds the orchestrator's FastAPI app: routes, error mapping and its schema, CORS, body limits, the dashboard."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, Response

from backend.app.api.routes import (
    attack,
    chain,
    dataset_previews,
    datasets,
    events,
    experiments,
    models,
    nodes,
    protocol,
    service,
    simulated_nodes,
)
from backend.app.deps import strict_json_body
from backend.app.errors import BodyLimitAnswersInJson, document_errors, error, install_error_handlers
from backend.app.read_cache import ReadCache
from backend.app.request_origin import SameOriginGuard
from backend.cli.node_pool import attach_node_pool
from backend.orchestrator.service import Orchestrator
from backend.settings import Settings, get_settings

log = logging.getLogger("fedshield.api")

# Room above an upload's own limit for its multipart framing and small form fields (message, signature).
MULTIPART_OVERHEAD_BYTES = 64 * 1024

# Per router: error statuses of its state-changing operations, and of all of them (see document_errors).
_DOMAIN_ERRORS: tuple[tuple[Any, tuple[int, ...], tuple[int, ...]], ...] = (
    (service, (), ()),
    (datasets, (), ()),
    (dataset_previews, (), ()),
    (models, (), ()),
    (experiments, (404, 409), ()),  # 404: an unknown dataset_id
    (nodes, (401, 403, 409), (503,)),  # 401: not signed by the wallet; 403: the wallet has no eligible stake
    (simulated_nodes, (404, 409), (503,)),  # 409: no pool, or too few idle nodes; 503: chain unreachable
    (protocol, (409, 410), (503,)),
    (attack, (404,), ()),  # an unknown experiment_id or dataset_id
    (events, (), ()),
    (chain, (), (503,)),
)


def _install_dashboard(app: FastAPI, dist: Path) -> None:
    """Serves the dashboard's production build at / (SPA: unknown non-API paths get index.html)."""
    index = dist / "index.html"
    root = dist.resolve()

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    def read_dashboard(path: str) -> Response:
        if path == "api" or path.startswith("api/"):
            return error(404, f"no API route /{path}")
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
        attach_node_pool(running)
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
        dependencies=[Depends(strict_json_body)],
    )
    if orchestrator is not None:
        app.state.orchestrator = orchestrator
    app.state.read_cache = ReadCache()
    install_error_handlers(app)
    # Bodies are counted as they stream in (chunked or not): 413 as soon as a router's limit is passed.
    upload_limits = {
        datasets: settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        dataset_previews: settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        protocol: settings.max_update_bytes + MULTIPART_OVERHEAD_BYTES,
    }
    for module, state_changes, always in _DOMAIN_ERRORS:
        document_errors(module.router, state_changes=state_changes, always=always)
        app.include_router(module.router, max_body_size=upload_limits.get(module, settings.max_json_bytes))
    app.add_middleware(BodyLimitAnswersInJson)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        expose_headers=["X-Model-Hash"],
    )
    # Outermost: a foreign Host or a cross-site browser is refused before anything else runs.
    app.add_middleware(
        SameOriginGuard,
        host_names=settings.host_names,
        trusted_origins=tuple(settings.cors_origins),
        default_port=settings.port,
    )
    if (settings.frontend_dist / "index.html").is_file():
        _install_dashboard(app, settings.frontend_dist)
    return app
