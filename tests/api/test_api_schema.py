"""Property-based run of the whole OpenAPI schema (schemathesis): no input makes the API answer 5xx.

Bounded to a few examples per operation so it stays well under a minute per database; the endless SSE
stream is left out (its behaviour has its own tests)."""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from backend.app.main import create_app
from backend.orchestrator.service import Orchestrator
from tests.api.helpers import experiment_body

MAX_EXAMPLES = 25


def test_no_input_makes_the_api_fail_with_5xx(orchestrator: Orchestrator) -> None:
    app = create_app(orchestrator=orchestrator)
    orchestrator.start()  # the runner opens rounds, so operations on experiment 1 meet real state
    with TestClient(app) as client:  # experiment 1 exists and runs, as the schema's examples assume
        assert client.post("/api/experiments", json=experiment_body()).status_code == 201
        assert client.post("/api/experiments/1/start").status_code == 200
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path="/api/events")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case: schemathesis.Case) -> None:
            response = case.call()
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
                )

        call()
    assert not failures, "\n".join(failures)
