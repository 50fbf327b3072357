"""`mockserver record`: a real account into a scenario file that `mockserver serve` loads.

    mockserver record --api hubble --base-url https://api.hubble.com --token T --org-id O --out fixtures/my-org.yaml
    mockserver record --api hubby --base-url https://api.hubbyesim.com/api --api-key K --secret S --out my.yaml

Modules: client (HTTP, retries, spec checks), hubble / hubby (what each API is read through),
scrub (stable Faker stand-ins), state (resume), progress, writer (YAML, refresh, report).
Exit status: 0 written, 2 bad input (one line), 3 interrupted (rerun the same command to
resume).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 3


def register(sub: Any) -> None:
    p = sub.add_parser("record", help="read a real account into a scenario file")
    p.add_argument("--api", choices=["hubble", "hubby", "all"], default="hubble")
    p.add_argument("--base-url", help="the API's base URL (with --api all: Hubble's)")
    p.add_argument("--hubby-base-url", help="Hubby's base URL with --api all (e.g. https://api.hubbyesim.com/api)")
    p.add_argument("--token", default=os.environ.get("HUBBLE_API_TOKEN"), help="Hubble API token (HUBBLE_API_TOKEN)")
    p.add_argument("--org-id", default=os.environ.get("HUBBLE_ORG_ID"), help="Hubble organization id (HUBBLE_ORG_ID)")
    p.add_argument("--api-key", default=os.environ.get("HUBBY_API_KEY"), help="Hubby x-api-key (HUBBY_API_KEY)")
    p.add_argument("--secret", default=os.environ.get("HUBBY_SECRET"), help="Hubby HMAC secret (HUBBY_SECRET)")
    p.add_argument("--out", required=True, help="the scenario file to write")
    p.add_argument("--days", type=float, default=7.0, help="packets of the last N days (0-30, default 7)")
    p.add_argument("--anonymize", action="store_true", help="replace packet payloads and locations with generated ones")
    p.add_argument("--keep", action="append", default=[], metavar="FIELD",
                   help="leave a field as recorded: email, first_name, last_name, phone, address, webhook_url, secret")  # fmt: skip
    p.add_argument("--since", metavar="FILE", help="refresh this recording, keeping hand edits to entries that did not change upstream")
    p.add_argument("--restart", action="store_true", help="ignore the saved state of an interrupted run")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from .client import Interrupted, RecordError, SpecBreach
    from .writer import report_path

    try:
        return _run(args)
    except RecordError as exc:
        where = report_path(Path(args.out)) if isinstance(exc, SpecBreach) else None
        more = f" (every drift seen is listed in {where})" if where is not None and where.is_file() else ""
        print(f"mockserver record: {exc}{more}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Interrupted as exc:
        print(f"mockserver record: interrupted: {exc}; what was read is saved, run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("mockserver record: interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def _check_args(args: argparse.Namespace) -> None:
    from .client import RecordError

    apis = ["hubble", "hubby"] if args.api == "all" else [args.api]
    if not 0 <= args.days <= 30:
        raise RecordError("--days must be between 0 and 30 (Hubble keeps packets 30 days)")
    if "hubble" in apis and not (args.base_url and args.token and args.org_id):
        raise RecordError("--api hubble needs --base-url, --token and --org-id (or HUBBLE_API_TOKEN, HUBBLE_ORG_ID)")
    if "hubby" in apis:
        if args.api == "hubby" and not args.hubby_base_url:
            args.hubby_base_url = args.base_url
        if not (args.hubby_base_url and args.api_key and args.secret):
            raise RecordError("--api hubby needs --base-url (--hubby-base-url with --api all), --api-key and --secret")
    for url in filter(None, (args.base_url, args.hubby_base_url)):
        if not url.startswith(("http://", "https://")):
            raise RecordError(f"not an http(s) URL: {url!r}")
    if args.since and not Path(args.since).is_file():
        raise RecordError(f"--since: no file {args.since!r}")


def _load_since(path: str | None) -> dict[str, Any] | None:
    """The recording to refresh, read before anything is fetched (a broken file stops at once)."""
    import yaml

    from .client import RecordError

    if not path:
        return None
    try:
        old = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RecordError(f"--since: cannot read {path}: {' '.join(str(exc).split())}") from None
    if not isinstance(old, dict):
        raise RecordError(f"--since: {path} is not a scenario (a mapping)")
    return old


def _run(args: argparse.Namespace) -> int:
    import httpx

    from ..kernel.spec import Spec
    from ..testing import HubbySigner
    from . import hubble, hubby, writer
    from .client import RecordClient, RecordError
    from .progress import Progress
    from .scrub import Scrubber
    from .state import RunState

    _check_args(args)
    old = _load_since(args.since)
    apis = ["hubble", "hubby"] if args.api == "all" else [args.api]
    out = Path(args.out)
    identity = {"apis": apis, "hubble": [args.base_url, args.org_id] if "hubble" in apis else None,
                "hubby": [args.hubby_base_url, args.api_key] if "hubby" in apis else None,
                "days": args.days}  # fmt: skip
    state = RunState(out, identity)
    if args.restart:
        state.discard()
        state = RunState(out, identity)
    progress = Progress(quiet=args.quiet)
    if state.resumed:
        progress.note(f"record: resuming the interrupted run saved in {state.dir}")
    if "at" not in state.run:
        state.save_run(at=round(time.time(), 3))
    at = state.run["at"]
    try:
        scrub = Scrubber(set(args.keep), secrets=[args.token, args.api_key, args.secret])
    except ValueError as exc:
        raise RecordError(str(exc)) from None
    doc: dict[str, Any] = {"version": 1, "description": f"recorded from {', '.join(apis)} on {_iso(at)[:10]}"}
    sources, drift = [], []
    clients = []
    try:
        if "hubble" in apis:
            client = RecordClient(args.base_url, api="hubble", spec=Spec.from_resource("hubble", "hubble-openapi.yaml"),
                                  prefix=httpx.URL(args.base_url).path.rstrip("/"),
                                  headers={"Authorization": f"Bearer {args.token}"}, on_wait=progress.wait)  # fmt: skip
            clients.append(client)
            raw = hubble.HubbleRecorder(client, args.org_id, state, progress, args.days).read(at)
            doc["hubble"] = hubble.build_section(raw, at, scrub, args.anonymize)
            sources.append({"api": "hubble", "base_url": args.base_url, "org_id": args.org_id})
        if "hubby" in apis:
            client = RecordClient(args.hubby_base_url, api="hubby", spec=Spec.from_resource("hubby", "hubby-openapi.yaml"),
                                  prefix=httpx.URL(args.hubby_base_url).path.rstrip("/"),
                                  auth=HubbySigner(args.api_key, args.secret), on_wait=progress.wait)  # fmt: skip
            clients.append(client)
            raw_hubby = hubby.HubbyRecorder(client, state, progress).read()
            doc["hubby"] = hubby.build_section(raw_hubby, scrub)
            sources.append({"api": "hubby", "base_url": args.hubby_base_url})
    finally:
        for c in clients:
            drift += c.drift
            c.close()
        report = writer.write_report(out, drift)
        if report is not None and sys.exc_info()[0] is None:
            progress.note(f"record: spec drift (undocumented fields or headers) listed in {report}")
    meta = {"recorded_at": at, "recorded_at_iso": _iso(at), "sources": sources, "scrubbed": scrub.summary(),
            "anonymized": bool(args.anonymize), "days": args.days}  # fmt: skip
    changes: list[str] = []
    prints = writer.fingerprints(doc)  # of what upstream holds now, not of kept hand edits
    if old is not None:
        doc, changes = writer.merge(old, doc)
        if isinstance(old.get("description"), str):  # the user's own words stay
            doc["description"] = old["description"]
    doc = {"version": 1, "description": doc["description"], "x-recorded": meta,
           **{k: v for k, v in doc.items() if k not in ("version", "description")},
           "x-fingerprints": prints}  # fmt: skip
    writer.write(out, doc, meta)
    state.discard()
    for line in changes:
        print(f"changed since {args.since}: {line}")
    counts = _counts(doc)
    print(f"mockserver record: wrote {out} ({counts}); replay it with: mockserver serve --scenario {out}")
    return 0


def _counts(doc: dict[str, Any]) -> str:
    parts = []
    rec = (doc.get("hubble") or {}).get("recorded") or {}
    for k in ("devices", "packets", "users", "invitations", "webhooks"):
        if rec.get(k):
            parts.append(f"{len(rec[k])} {k}")
    if (doc.get("hubby") or {}).get("bookings"):
        parts.append(f"{len(doc['hubby']['bookings'])} bookings")
    return ", ".join(parts) or "empty"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
