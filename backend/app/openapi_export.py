"""Writes the API's OpenAPI schema, from which the dashboard's types are generated (scripts/gen-api-types).

``python -m backend.app.openapi_export frontend/src/api/openapi.json``: builds the app without starting it
(no orchestrator, no chain, no server) and writes ``app.openapi()`` as indented JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from backend.app.main import create_app


def schema_text() -> str:
    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m backend.app.openapi_export OUT.json", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(schema_text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
