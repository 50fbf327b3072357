"""`mockserver contracts ...` and `mockserver proxy ...` (registered by mockserver/cli.py).

    mockserver contracts run --api hubble|hubby|bumblebee|all [--base-url URL] [--max-examples N]
                             [--junit-xml PATH] [--allow-writes] ...
    mockserver contracts webhooks check [--base-url URL] [--api A]
    mockserver contracts webhooks send --api A --url RECEIVER [--count N] ...
    mockserver contracts client [--report PATH] -- COMMAND ...
    mockserver contracts sdk-report [--output PATH]
    mockserver proxy --api hubble --target URL [--port N]

Bad input (a spec that does not parse, an unreachable base URL, refused credentials) ends
with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .errors import HarnessError, MissingExtra

PREFIX = "mockserver contracts"


def register(subparsers: Any) -> None:
    contracts = subparsers.add_parser(
        "contracts",
        help="contract tests: the fake, a real API, a client or a webhook receiver against the specs",
        description="Verify the fake, the real APIs and your own clients against the specs.",
    )
    sub = contracts.add_subparsers(dest="contracts_command", required=True)
    _add_run(sub)
    _add_webhooks(sub)
    _add_client(sub)
    _add_sdk_report(sub)
    _add_proxy(subparsers)


# What each command imports beyond the core install; all of it comes with the `contracts` extra.
HARNESS_MODULES = ("pytest", "schemathesis", "hypothesis", "requests")
SDK_MODULES = ("hubblenetwork",)


def _missing(modules: Sequence[str]) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


def _guarded(
    func: Callable[[argparse.Namespace], int], prefix: str = PREFIX, requires: Sequence[str] = ()
) -> Callable[[argparse.Namespace], int]:
    """Run a subcommand so that bad input is one line and exit 2, never a traceback; a missing
    optional dependency (the `contracts` extra) is bad input too, and says what to install."""

    def handler(args: argparse.Namespace) -> int:
        try:
            missing = _missing(requires)
            if missing:
                raise MissingExtra(missing)
            try:
                return func(args)
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.split(".")[0] in HARNESS_MODULES + SDK_MODULES:
                    raise MissingExtra([exc.name.split(".")[0]]) from exc
                raise
        except HarnessError as exc:
            print(f"{prefix}: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{prefix}: interrupted", file=sys.stderr)
            return 2

    return handler


# -- run -------------------------------------------------------------------------------
def _add_run(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="run the contract suites (against a fresh fake unless --base-url is given)",
        description=(
            "Run the contract suites. Without --base-url they test a fresh fake started here. With it "
            "they test whatever answers there, read-only unless --allow-writes. For --api all, --base-url "
            "is the root of a server that serves every API (a fake: /hubble, /hubby/api); use --hubble-url "
            "and --hubby-url for separate hosts."
        ),
    )
    p.add_argument("--api", choices=["hubble", "hubby", "bumblebee", "all"], default="all",
                   help="bumblebee is mockserver's own sandbox API: a fake only (with --api all and "
                   "--hubble-url/--hubby-url it is left out)")
    p.add_argument("--base-url", help="the API's base URL (for --api all: a server root)")
    p.add_argument("--hubble-url", help="Hubble base URL, e.g. https://api.hubble.com")
    p.add_argument("--hubby-url", help="Hubby base URL, e.g. https://api-staging.hubby.dev/api")
    p.add_argument("--spec", help="the OpenAPI document to test against (default: the project's)")
    p.add_argument("--hubble-spec", help="Hubble spec for --api all")
    p.add_argument("--hubby-spec", help="Hubby spec for --api all")
    p.add_argument("--token", help="Hubble API key (default $HUBBLE_API_TOKEN)")
    p.add_argument("--org-id", help="Hubble organization id (default $HUBBLE_ORG_ID)")
    p.add_argument("--limited-token", help="a Hubble key lacking most scopes, to check scope enforcement")
    p.add_argument("--limited-scopes", help="comma-separated scopes that key holds (default read-billing-usage)")
    p.add_argument("--api-key", help="Hubby partner key (default $HUBBY_API_KEY)")
    p.add_argument("--secret", help="Hubby partner secret (default $HUBBY_SECRET)")
    p.add_argument("--max-examples", type=int, default=25, help="generated cases per operation (default 25)")
    p.add_argument("--seed", type=int, help="generation seed (runs are deterministic for a given seed)")
    p.add_argument("--stateful-steps", type=int, help="steps per stateful scenario (default 8)")
    p.add_argument("--stateful-examples", type=int, help="stateful scenarios (default: --max-examples)")
    p.add_argument("--coverage", action="store_true", help="add schemathesis' coverage phase (many more requests)")
    p.add_argument("--shrink", action="store_true", help="minimise failing cases (slower)")
    p.add_argument("--allow-writes", action="store_true", help="also send POST/PATCH/PUT/DELETE to a --base-url target")
    p.add_argument("--rate-limit", help="client-side request limit for a --base-url target, e.g. 5/s, or off "
                   "(default 2/s for a real API, none for a fake)")
    p.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report")
    p.add_argument("-k", dest="keyword", help="only tests matching this pytest -k expression")
    p.add_argument("-q", "--quiet", action="store_true", help="less output")
    p.set_defaults(handler=_guarded(_run, requires=HARNESS_MODULES))


def _run(args: argparse.Namespace) -> int:
    from .runner import RunOptions, run

    if args.max_examples < 1:
        raise HarnessError("--max-examples must be at least 1")
    options = RunOptions(
        api=args.api,
        base_url=args.base_url,
        hubble_url=args.hubble_url,
        hubby_url=args.hubby_url,
        spec=args.spec,
        hubble_spec=args.hubble_spec,
        hubby_spec=args.hubby_spec,
        token=args.token,
        org_id=args.org_id,
        limited_token=args.limited_token,
        limited_scopes=args.limited_scopes,
        api_key=args.api_key,
        secret=args.secret,
        max_examples=args.max_examples,
        seed=args.seed,
        stateful_steps=args.stateful_steps,
        stateful_examples=args.stateful_examples,
        coverage=args.coverage,
        shrink=args.shrink,
        allow_writes=args.allow_writes,
        rate_limit=args.rate_limit,
        junit_xml=args.junit_xml,
        keyword=args.keyword,
        quiet=args.quiet,
    )
    return run(options)


# -- webhooks --------------------------------------------------------------------------
def _add_webhooks(sub: Any) -> None:
    p = sub.add_parser("webhooks", help="webhook payload contracts")
    wsub = p.add_subparsers(dest="webhooks_command", required=True)

    check = wsub.add_parser(
        "check",
        help="check every message a running fake emitted against the specs' webhooks sections",
    )
    check.add_argument("--base-url", required=True, help="root URL of a running fake (http://host:port)")
    check.add_argument("--api", choices=["hubble", "hubby", "bumblebee"], help="only this API's messages")
    check.add_argument("--admin-token", help="bearer token for /_mock (default $MOCKSERVER_ADMIN_TOKEN)")
    check.set_defaults(handler=_guarded(_webhooks_check))

    send = wsub.add_parser(
        "send",
        help="send valid generated events to your receiver and report how it answered",
    )
    send.add_argument("--api", choices=["hubble", "hubby", "bumblebee"], required=True)
    send.add_argument("--url", required=True, help="your receiver's URL")
    send.add_argument("--event", action="append", help="only this event type (repeatable)")
    send.add_argument("--count", type=int, default=3, help="generated events per type, besides the spec examples")
    send.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                      help="a header to send with every event (e.g. your webhook secret)")
    send.add_argument("--no-duplicates", action="store_true", help="do not resend each event to test idempotency")
    send.add_argument("--timeout", type=float, default=10.0)
    send.add_argument("--seed", type=int, default=0)
    send.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    send.set_defaults(handler=_guarded(_webhooks_send))


def _webhooks_check(args: argparse.Namespace) -> int:
    import os

    from . import webhooks

    token = args.admin_token or os.environ.get("MOCKSERVER_ADMIN_TOKEN")
    results = webhooks.check_deliveries(args.base_url, api=args.api, admin_token=token)
    print(webhooks.format_delivery_report(results))
    return 1 if any(r.problems for r in results) else 0


def _webhooks_send(args: argparse.Namespace) -> int:
    import json

    from . import webhooks

    headers = {}
    for item in args.header:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise HarnessError(f"--header takes NAME=VALUE, got {item!r}")
        headers[name.strip()] = value
    events = webhooks.sample_events(args.api, events=args.event, count=args.count, seed=args.seed)
    results = webhooks.send_events(
        args.url, events, headers=headers, duplicates=not args.no_duplicates, timeout=args.timeout
    )
    print(webhooks.format_send_report(args.url, results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump([r.as_dict() for r in results], fh, indent=2)
    return 1 if any(not r.ok for r in results) else 0


# -- client ----------------------------------------------------------------------------
def _add_client(sub: Any) -> None:
    p = sub.add_parser(
        "client",
        help="run your command (test suite) against a fresh fake and report every request that breaks the spec",
        description=(
            "Start a fresh fake, run COMMAND with MOCKSERVER_URL, HUBBLE_BASE_URL, HUBBLE_ORG_ID, "
            "HUBBLE_API_TOKEN, HUBBY_BASE_URL, HUBBY_API_KEY, HUBBY_SECRET and BUMBLEBEE_BASE_URL pointing "
            "at it, then report each request the fake found in breach of its spec. Fails when the command "
            "fails or any request broke the spec."
        ),
    )
    p.add_argument("--report", metavar="PATH", help="also write the report as Markdown")
    p.add_argument("--json", metavar="PATH", help="also write the violating requests as JSON")
    p.add_argument("--vendor-spec", metavar="PATH",
                   help="also validate every Hubble request against this vendor document (openapi-core)")
    p.add_argument("--no-rate-limit", action="store_true", help="turn the fake's rate limits off")
    p.add_argument("--seed", type=int, help="the fake's seed")
    p.add_argument("--scenario", help="the fake's scenario (default demo)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    p.set_defaults(handler=_guarded(_client))


def _client(args: argparse.Namespace) -> int:
    from . import client

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise HarnessError("give the command to run after --, e.g. mockserver contracts client -- pytest tests/")
    return client.run_client(
        command,
        report_path=args.report,
        json_path=args.json,
        vendor_spec=args.vendor_spec,
        rate_limit=not args.no_rate_limit,
        seed=args.seed,
        scenario=args.scenario,
    )


# -- sdk report ------------------------------------------------------------------------
def _add_sdk_report(sub: Any) -> None:
    p = sub.add_parser(
        "sdk-report",
        help="regenerate REPORT-pyhubblenetwork.md: what the official SDK sends that the vendor document lacks",
    )
    p.add_argument("--output", metavar="PATH", help="where to write it (default: the suites' folder)")
    p.add_argument("--vendor-spec", metavar="PATH", help="the vendor's OpenAPI document")
    p.add_argument("--check", action="store_true", help="do not write; exit 1 if the file is out of date")
    p.set_defaults(handler=_guarded(_sdk_report, requires=HARNESS_MODULES + SDK_MODULES))


def _sdk_report(args: argparse.Namespace) -> int:
    from . import sdk_report

    return sdk_report.main(output=args.output, vendor_spec=args.vendor_spec, check=args.check)


# -- proxy -----------------------------------------------------------------------------
def _add_proxy(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "proxy",
        help="a validating proxy: forwards to a real API, logs drift from the spec both ways",
        description=(
            "Forward every request to --target unchanged and validate both directions against the spec, "
            "logging drift (undocumented fields, status codes, headers, schema violations) as JSON lines. "
            "GET /_proxy/drift lists what was found."
        ),
    )
    p.add_argument("--api", choices=["hubble", "hubby"], required=True)
    p.add_argument("--target", required=True, help="the API's base URL, e.g. https://api.hubble.com")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--spec", help="the OpenAPI document to validate against (default: the project's)")
    p.add_argument("--log", metavar="PATH", help="append drift as JSON lines here (default: stderr)")
    p.add_argument("--timeout", type=float, default=60.0, help="upstream timeout in seconds")
    p.add_argument("--max-body-bytes", type=int, default=67_108_864,
                   help="a request body over this is answered 413 and not forwarded (default 64 MiB)")
    p.set_defaults(handler=_guarded(_proxy, prefix="mockserver proxy"))


def _proxy(args: argparse.Namespace) -> int:
    from . import proxy

    return proxy.serve(
        api=args.api, target=args.target, host=args.host, port=args.port,
        spec_path=args.spec, log_path=args.log, timeout=args.timeout, max_body_bytes=args.max_body_bytes,
    )
