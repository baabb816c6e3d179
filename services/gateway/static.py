"""The screens' files: ``web/dist/index.html`` at ``/`` and the rest under ``/static/``.

``make web`` builds them from ``web/`` (Vue, bundled by Vite); the gateway only serves
the built folder (``LIBRARY_WEB_DIR`` may point elsewhere).

Whatever the folder holds is served, read-only and only from inside it (no
``..``, no hidden files); until the page exists, ``/`` answers a small
placeholder saying where the API is described.

The service worker (``sw.js``, docs/offline.md) lives under ``/static/`` with the
other built files, but keeps the page at ``/`` (the desk loads offline at its own
address): ``Service-Worker-Allowed: /`` lets the page register it for the whole site.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from werkzeug.security import safe_join

from services.gateway.problems import NotFound
from services.gateway.routing import Reply

STATIC_DIR = Path(
    os.environ.get("LIBRARY_WEB_DIR") or Path(__file__).resolve().parents[2] / "web" / "dist"
)
INDEX = "index.html"
HTML = "text/html; charset=utf-8"
# The page is small and changes with each release: revalidate rather than cache stale.
FILE_HEADERS = {"Cache-Control": "no-cache"}
SERVICE_WORKER = "sw.js"
WORKER_HEADERS = {**FILE_HEADERS, "Service-Worker-Allowed": "/"}

PLACEHOLDER = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>School library</title></head>
<body>
<h1>School library</h1>
<p>The screens are not built yet (make web). The HTTP API is described at
<a href="/openapi.json">/openapi.json</a>.</p>
</body>
</html>
"""


def dashboard(folder: Path = STATIC_DIR) -> Reply:
    """The dashboard page, or the placeholder while there is none."""
    index = folder / INDEX
    if not index.is_file():
        return Reply(PLACEHOLDER, content_type=HTML, headers=FILE_HEADERS)
    return Reply(index.read_bytes(), content_type=HTML, headers=FILE_HEADERS)


def static_file(name: str, folder: Path = STATIC_DIR) -> Reply:
    """A file from the static folder; ``NotFound`` for anything outside it, hidden or missing."""
    missing = NotFound(f"No static file {name!r}.")
    if any(part.startswith(".") for part in Path(name).parts):
        raise missing
    joined = safe_join(str(folder), name)
    if joined is None:
        raise missing
    path = Path(joined)
    if not path.is_file() or not path.resolve().is_relative_to(folder.resolve()):
        raise missing
    content_type, _ = mimetypes.guess_type(path.name)
    content_type = content_type or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript",):
        content_type += "; charset=utf-8"
    headers = WORKER_HEADERS if name == SERVICE_WORKER else FILE_HEADERS
    return Reply(path.read_bytes(), content_type=content_type, headers=headers)
