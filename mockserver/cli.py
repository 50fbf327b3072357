"""`mockserver serve ...` and friends."""

from __future__ import annotations

import argparse
import errno
import gc
import socket
import sqlite3
import sys
from collections.abc import Sequence

from .contracts.cli import register as register_contracts
from .record import register as register_record
from .settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockserver", description="Stateful, spec-true fakes of Hubble, Hubby and Bumblebee.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the sandbox server")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1; MOCKSERVER_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8080; MOCKSERVER_PORT)")
    serve.add_argument("--seed", type=int, default=None, help="fixes every generated id, key and payload (default 1)")
    serve.add_argument("--scenario", default=None, help="scenario name under fixtures/ or a YAML path (default demo; 'empty' for none)")
    serve.add_argument("--state", dest="state_path", default=None, help="SQLite file that keeps state across restarts")
    serve.add_argument("--no-rate-limit", dest="rate_limit", action="store_const", const=False, default=None, help="turn rate limiting off")
    serve.add_argument("--clock", choices=["real", "frozen"], default=None, help="start the clock real or frozen")
    serve.add_argument("--clock-start", type=float, default=None, help="Unix time the clock starts at")
    serve.add_argument("--strict", action="store_const", const=True, default=None, help="a response that breaks the spec becomes a 500")
    serve.add_argument("--public-url", default=None, help="base URL to print and return in /_mock/credentials")
    serve.add_argument(
        "--webhook-chaos", default=None,
        help="deliver webhooks late, out of order or twice, seeded: 'hubby:duplicate=0.3,reorder=0.2,jitter=5' "
        "or JSON (MOCKSERVER_WEBHOOK_CHAOS; off by default)",
    )
    serve.add_argument("--log-level", default="warning")
    register_contracts(sub)
    register_record(sub)
    return parser


def _bind(host: str, port: int) -> socket.socket | str:
    """Bind the listening socket before anything is printed: a busy port is an error line,
    never a banner followed by a crash (a health check could pass against the port's owner)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot resolve --host {host!r}: {exc.strerror}"
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return f"port {port} on {host} is already in use (pick another with --port)"
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    sock.set_inheritable(True)
    return sock


def banner(creds: dict) -> list[str]:
    """One line per API: its title, base URL and the credentials it names (`ApiModule.banner`)."""
    from . import apis  # noqa: PLC0415  (only `serve` needs the API packages)

    lines = []
    for api in apis.REGISTRY:
        own = creds[api.name]
        shown = "".join(f"  {label}={own[key]}" for label, key in api.banner)
        lines.append(f"  {api.title:<10} {own['base_url']}{shown}")
    return lines


def serve(args: argparse.Namespace) -> int:
    from .scenarios import ScenarioError, load_scenario
    from .statefile import StateFileError, check_state_file

    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        seed=args.seed,
        scenario=args.scenario,
        state_path=args.state_path,
        rate_limit=args.rate_limit,
        clock=args.clock,
        clock_start=args.clock_start,
        strict=args.strict,
        public_url=args.public_url,
        webhook_chaos=args.webhook_chaos,
    )
    # start-up makes what the server keeps for life and next to no garbage: the collector is
    # paused until that is frozen below (create_app pauses it too; this covers the imports
    # and the scenario), instead of walking the new objects again and again
    gc.disable()
    # the inputs are checked before the APIs are imported and their specs compiled (seconds):
    # a bad file is one line and exit 2 at once
    try:
        if settings.state_path:
            check_state_file(settings.state_path)
        scenario = load_scenario(settings.scenario)
    except StateFileError as exc:
        print(f"mockserver: --state {settings.state_path}: {exc}", file=sys.stderr)
        return 2
    except ScenarioError as exc:
        print(f"mockserver: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    from .app import create_app
    from .control.routes import credentials
    from .server_protocol import uvicorn_options
    from .webhooks.chaos import ChaosConfigError

    try:
        app = create_app(settings, scenario=scenario)
    except (ScenarioError, ChaosConfigError) as exc:
        print(f"mockserver: {exc}", file=sys.stderr)
        return 2
    except (sqlite3.Error, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        if not settings.state_path:
            raise
        print(f"mockserver: --state {settings.state_path}: the saved state cannot be loaded ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    bound = _bind(settings.host, settings.port)
    if isinstance(bound, str):
        print(f"mockserver: {bound}", file=sys.stderr)
        return 2
    if settings.port == 0:  # an ephemeral port: report the one the system chose
        settings = app.state.runtime.settings
        settings.port = bound.getsockname()[1]
    creds = credentials(app.state.runtime)
    print(f"mockserver listening on {settings.base_url}", flush=True)
    for line in banner(creds):
        print(line)
    print(f"  Control    {creds['control']['base_url']}  (GET /_mock/credentials)", flush=True)
    chaos = app.state.runtime.webhooks.chaos
    if chaos is not None and chaos.enabled:
        print(f"  Webhook delivery chaos ON (seed {chaos.seed}): {chaos.describe()['rules']}", flush=True)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=args.log_level, timeout_graceful_shutdown=10,
        lifespan="on", **uvicorn_options(),
        # below info nothing is logged per request: skip building each access-log line's arguments
        access_log=args.log_level.lower() in ("trace", "debug", "info"),
    )  # fmt: skip
    # what start-up built (specs, compiled schemas, seeded state) lives as long as the
    # process: moved out of the collector's view, a full collection under load scans only
    # what requests made since, instead of pausing every client for tens of milliseconds
    gc.collect()
    gc.freeze()
    gc.enable()
    uvicorn.Server(config).run(sockets=[bound])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.error(f"unknown command {args.command}")
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
