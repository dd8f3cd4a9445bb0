"""The live view's web server: Starlette on uvicorn, in a thread, 127.0.0.1 only.

Routes: ``/`` the page (``static/index.html``, shipped with the package: the
machines are offline, so no script or style comes from anywhere else),
``/api/state`` the state as JSON (the page polls it every second),
``/api/explain?client=c2&target=global`` BGP's decision for one client, read
from the lab's BIRDs when asked. Starlette and uvicorn: a small, well-kept
ASGI stack (docs/architecture.md, dependencies).
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import AnycastlabError, EnvironmentProblem

STATIC = Path(__file__).parent / "static"


def app_for(view: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Route

    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def state(request: Request) -> JSONResponse:
        return JSONResponse(view.state.snapshot())

    async def basemap(request: Request) -> JSONResponse:
        return JSONResponse(await asyncio.to_thread(outlines))

    async def explain(request: Request) -> JSONResponse:
        client = request.query_params.get("client", "")
        target = request.query_params.get("target", "global")
        target = target.split(":", 1)[1] if target.startswith("provider:") else target
        try:  # birdc round trips: off the event loop
            got = await asyncio.to_thread(view.explain, client, target)
        except AnycastlabError as exc:
            return JSONResponse({"error": exc.message, "fix": exc.fix}, status_code=400)
        return JSONResponse(got)

    return Starlette(routes=[Route("/", page), Route("/api/state", state), Route("/api/explain", explain),
                             Route("/api/basemap", basemap)])


def outlines(step: int = 3) -> dict[str, Any]:
    """Coastlines and borders for the page's map (report/geo.py's offline data),
    every ``step``-th point: plenty on a 720-pixel map, a tenth of the bytes."""
    from ..report import geo

    base = geo.load()

    def thin(lines: list) -> list:
        return [[[round(float(x), 2), round(float(y), 2)] for x, y in ln[::step]] + [[round(float(ln[-1][0]), 2),
                round(float(ln[-1][1]), 2)]] for ln in lines if len(ln) >= 2]

    return {"note": base.note, "coasts": thin(base.coasts), "borders": thin(base.borders)}


class Server:
    """uvicorn in a daemon thread; ``stop`` asks it to exit and waits."""

    def __init__(self, server: Any, thread: threading.Thread) -> None:
        self.server, self.thread = server, thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(view: Any, host: str, port: int, timeout: float = 10.0) -> Server:
    """Start serving; returns once the port accepts connections. A port in
    use is an EnvironmentProblem naming it (and nothing is left running)."""
    import uvicorn

    if host != "127.0.0.1":
        raise EnvironmentProblem(f"the live view binds to 127.0.0.1 only, not {host}")
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        raise EnvironmentProblem(f"port {port} on {host} is not free for the live view ({exc.strerror})",
                                 fix="give another port: --live PORT") from None
    finally:
        probe.close()
    config = uvicorn.Config(app_for(view), host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise EnvironmentProblem(f"the live view did not start on {host}:{port}",
                                     fix="give another port: --live PORT")
        time.sleep(0.05)
    return Server(server, thread)
