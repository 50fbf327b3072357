"""`mockserver serve ...` and friends."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence

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
    serve.add_argument("--log-level", default="warning")
    for extra in _extensions():
        extra(sub)
    return parser


def _extensions() -> list:
    """Subcommands that live in their own modules (contracts, proxy)."""
    out = []
    try:
        from .contracts_cli import register  # noqa: PLC0415
    except ImportError:
        pass
    else:
        out.append(register)
    return out


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
    )
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
    from .guard import uvicorn_options

    try:
        app = create_app(settings, scenario=scenario)
    except ScenarioError as exc:
        print(f"mockserver: {exc}", file=sys.stderr)
        return 2
    except (sqlite3.Error, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        if not settings.state_path:
            raise
        print(f"mockserver: --state {settings.state_path}: the saved state cannot be loaded ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    creds = credentials(app.state.runtime)
    print(f"mockserver listening on {settings.base_url}", flush=True)
    print(f"  Hubble     {creds['hubble']['base_url']}  org_id={creds['hubble']['org_id']}  token={creds['hubble']['token']}")
    print(f"  Hubby      {creds['hubby']['base_url']}  x-api-key={creds['hubby']['api_key']}  secret={creds['hubby']['secret']}")
    print(f"  Bumblebee  {creds['bumblebee']['base_url']}")
    print(f"  Control    {creds['control']['base_url']}  (GET /_mock/credentials)", flush=True)
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level=args.log_level, timeout_graceful_shutdown=10,
        **uvicorn_options(),
    )  # fmt: skip
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
