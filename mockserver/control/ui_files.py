"""The dashboard's own files (`ui/`): plain HTML, CSS and JavaScript shipped in the package,
no build step, no CDN. They hold no data, so they are served without the admin token; the
page asks for the token and sends it with every read it makes.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .common import ControlError

UI_DIR = Path(__file__).parent / "ui"
UI_FILES = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
# paths below /_mock served without the admin token: the page shell holds no data
PUBLIC_PATHS = frozenset({"/ui", "/ui/", *(f"/ui/{name}" for name in UI_FILES)})
# a strict policy: the page runs only its own script and talks only to its own origin, so a
# request body shown on it cannot bring in markup that runs
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'self'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def ui_routes() -> list[Route]:
    files = {name: (UI_DIR / name).read_bytes() for name in UI_FILES}
    index = (UI_DIR / "index.html").read_text(encoding="utf-8")

    async def ui_index(request: Request) -> Response:
        """The page, with a <base> at its own folder so its files and reads resolve below
        whatever prefix the control plane is mounted at."""
        base = request.scope.get("root_path", "") + "/ui/"
        return Response(index.replace("{{BASE}}", _attr(base)), media_type="text/html; charset=utf-8", headers=HEADERS)

    async def ui_file(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files:
            raise ControlError(404, f"no dashboard file {name!r}")
        return Response(files[name], media_type=UI_FILES[name], headers=HEADERS)

    return [Route("/ui", ui_index), Route("/ui/", ui_index), Route("/ui/{name}", ui_file)]


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
