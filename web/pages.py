"""The pages a person opens: the dashboard (``GET /``) and the OBS player (``GET /overlay``), and their files.

Plain files from ``web/static/`` (ES modules and CSS, no build step, nothing fetched from elsewhere). They
are served without the API token (they hold no secret; the page asks for the token and sends it to /api).
Every answer carries an ETag and Last-Modified and ``Cache-Control: no-cache``: the browser keeps its copy
but revalidates (a cheap 304), so an upgraded server's pages show at the next load.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

from core.errors import NotFound
from web import dashboard_api, limits

STATIC_DIR = Path(str(resources.files("web").joinpath("static")))
#: How our pages name themselves (WebSocket ``?client=``, HTTP ``X-StreamVoice-Client``): a dashboard or an
#: overlay is not the streamer's App, so it must not count as "the App is online" (which silences the bot).
PAGE_CLIENTS = frozenset({"dashboard", "overlay"})
CLIENT_HEADER = "X-StreamVoice-Client"
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
          ".png": "image/png"}
#: Only our own files, over our own connection: no inline script, no other origin. Never inside a frame
#: (``frame-ancestors 'none'``, and ``X-Frame-Options: DENY`` for browsers that predate it): another site could
#: otherwise lay the dashboard invisibly under its own button and have the streamer click CLEAR (clickjacking).
#: OBS opens the overlay as a top-level page, so nothing of ours needs framing.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": _CSP, "X-Frame-Options": "DENY"}


def _static_files() -> dict[str, Path]:
    """The servable files by name, fixed at start-up: a request can never name anything else (no traversal)."""
    return {p.name: p for p in STATIC_DIR.iterdir() if p.is_file() and p.suffix in _TYPES}


def _file(path: Path) -> web.FileResponse:
    """The file, sent under ``limits.SEND_TIMEOUT`` like every answer (pages need no token either)."""
    return limits.ProgressFileResponse(path, headers={**_HEADERS, "Content-Type": _TYPES[path.suffix]})


def setup(app: web.Application) -> None:
    files = _static_files()

    async def dashboard(request: web.Request) -> web.FileResponse:
        return _file(files["dashboard.html"])

    async def overlay(request: web.Request) -> web.FileResponse:
        return _file(files["overlay.html"])

    async def static(request: web.Request) -> web.FileResponse:
        path = files.get(request.match_info["name"])
        if path is None:
            raise NotFound("no such file")
        return _file(path)

    app.router.add_get("/", dashboard)
    app.router.add_get("/overlay", overlay)
    app.router.add_get("/static/{name}", static)
    dashboard_api.setup(app)
