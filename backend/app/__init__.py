"""The orchestrator's HTTP API (FastAPI): `main.create_app` builds it."""
