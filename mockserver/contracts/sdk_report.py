"""REPORT-pyhubblenetwork.md: what the official Hubble SDK sends that the vendor's own OpenAPI
document does not describe.

The SDK (`sdk_exercise`) makes each of its cloud calls once against a fresh fake; every
request it sent is read back from the fake's journal and checked twice:

- against the fake's contract (`resources/hubble-openapi.yaml`, which also serves what the
  SDK really sends): any violation there is a bug in the fake or in the SDK;
- against the vendor's document (`reference/hubble-openapi.yaml`) with openapi-core, plus
  the query parameters and headers it never mentions: these are the differences.

    mockserver contracts sdk-report            # rewrite the report
    mockserver contracts sdk-report --check    # exit 1 if it is out of date (CI)

The output is deterministic (ids are replaced by their path templates) so a test can
regenerate it and compare.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import datafiles
from ..kernel.spec import NoRoute, Spec
from .target import HarnessError

SUITES = datafiles.contract_suites()
DEFAULT_OUTPUT = SUITES / "REPORT-pyhubblenetwork.md"
NOTABLE_HEADERS = {"content-type", "accept", "continuation-token", "x-request-id"}
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
LONG_NUMBER = re.compile(r"\b\d{9,}(\.\d+)?\b")
BASE64ISH = re.compile(r"'[A-Za-z0-9+/]{16,}={0,2}'")
ERRATA = {  # text in a finding -> why (reference/hubble-spec-errata.md)
    "{'_env': 'production'}, {'_env': 'sandbox'}": (
        "vendor erratum: its `deviceTags` enum parses as two one-key objects, so no real tag map validates"
    ),
}


def default_vendor_spec() -> Path | None:
    candidates = [os.environ.get("MOCKSERVER_HUBBLE_VENDOR_SPEC")]
    here = Path(__file__).resolve()
    for parent in list(here.parents)[:6]:
        candidates.append(str(parent.parent / "shared" / "reference" / "hubble-openapi.yaml"))
        candidates.append(str(parent / "shared" / "reference" / "hubble-openapi.yaml"))
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def sanitize(text: str) -> str:
    text = UUID.sub("{id}", text)
    text = LONG_NUMBER.sub("{n}", text)
    return BASE64ISH.sub("'{base64}'", text)


@dataclass
class Request:
    call: str
    method: str
    template: str
    query: tuple[str, ...]
    headers: tuple[str, ...]
    body_fields: tuple[str, ...]
    status: int | None
    fake: list[str]
    vendor: list[str] = field(default_factory=list)

    @property
    def signature(self) -> tuple[Any, ...]:
        return (self.method, self.template, self.query, self.headers, self.body_fields)

    def describe(self) -> str:
        text = f"`{self.method} {self.template}`"
        if self.query:
            text += " ?" + "&".join(f"{q}=" for q in self.query)
        if "continuation-token" in self.headers:
            text += " + `Continuation-Token`"
        if self.body_fields:
            text += " body {" + ", ".join(self.body_fields) + "}"
        return text


def _body_fields(body: Any) -> tuple[str, ...]:
    import json

    if isinstance(body, str) and body.strip():
        try:
            body = json.loads(body)
        except ValueError:
            return ("<not JSON>",)
    if not isinstance(body, dict):
        return ()
    out = []
    for key, value in body.items():
        if isinstance(value, dict) and key in ("eid_rotation",):
            out.append(f"{key}{{{', '.join(sorted(value))}}}")
        else:
            out.append(key)
    return tuple(out)


def collect(vendor_spec: Path) -> tuple[list[Request], dict[str, str], int]:
    """Run the SDK against a fresh fake; returns (requests, outcomes, fake-violation count)."""
    from ..settings import Settings
    from ..testing import MockServer
    from .sdk_exercise import exercise
    from .vendor import VendorDocument

    vendor = VendorDocument(str(vendor_spec), mount="/hubble")
    ours = Spec.from_resource("hubble", "hubble-openapi.yaml")
    settings = Settings.from_env(scenario="demo", seed=1)
    server = MockServer(settings, rate_limit=False, strict=False, admin_token=None).start()
    marks: list[tuple[str, int]] = []
    try:
        creds = server.credentials()["hubble"]
        journal = server.runtime.journal
        outcomes = exercise(server.hubble_url, creds["org_id"], creds["token"],
                            on_step=lambda name: marks.append((name, journal.total)))
        entries = sorted(server.requests(api="hubble"), key=lambda e: e["seq"])
    finally:
        server.stop()
    requests: list[Request] = []
    violations = 0
    for entry in entries:
        call = next((name for name, start in reversed(marks) if entry["seq"] > start), "(setup)")
        if call == "(setup)":
            continue
        method = entry["method"]
        path = entry["path"][len("/hubble") :]
        try:
            template = ours.match(method, path)[0].path
        except NoRoute:
            template = sanitize(path)
        query = tuple(dict.fromkeys(p.split("=", 1)[0] for p in (entry.get("query") or "").split("&") if p))
        request = entry.get("request") or {}
        headers = tuple(sorted(h.lower() for h in (request.get("headers") or {}) if h.lower() in NOTABLE_HEADERS))
        fake = [f"{v['location']}: {v['message']}" for v in entry.get("violations") or []]
        violations += len(fake)
        found = vendor.check(method, entry["path"], entry.get("query") or "", request.get("headers") or {}, request.get("body"))
        requests.append(Request(
            call=call, method=method, template=template, query=query, headers=headers,
            body_fields=_body_fields(request.get("body")), status=entry.get("status"),
            fake=[sanitize(f) for f in fake], vendor=[sanitize(f"{f.kind}: {f.detail}") for f in found],
        ))
    return requests, outcomes, violations


def render(requests: list[Request], outcomes: dict[str, str], fake_violations: int, vendor_spec: Path) -> str:
    from .sdk_exercise import CALLS

    sdk_version = metadata.version("pyhubblenetwork")
    digest = hashlib.sha256(vendor_spec.read_bytes()).hexdigest()[:12]
    unique: dict[tuple[Any, ...], Request] = {}
    for r in requests:
        unique.setdefault((r.call, *r.signature), r)
    rows = list(unique.values())
    differing = [r for r in rows if r.vendor]
    lines = [
        "# pyhubblenetwork against the vendor's Hubble OpenAPI document",
        "",
        "<!-- Generated by `mockserver contracts sdk-report` (mockserver/contracts/sdk_report.py). Do not edit;",
        "     tests/contracts regenerates it and fails when it is out of date. -->",
        "",
        f"SDK: pyhubblenetwork {sdk_version}. Vendor document: `reference/hubble-openapi.yaml` (sha256 {digest}...).",
        "Each of the SDK's cloud calls was made once against a fresh fake; every request it sent was",
        "read back from the fake's journal and validated with openapi-core against the vendor document",
        "(plus query parameters and headers that document never mentions), and against the fake's own",
        "contract (`resources/hubble-openapi.yaml`).",
        "",
        "## Summary",
        "",
        f"- {len(outcomes)} SDK calls, {len(rows)} distinct requests; {len(differing)} of them are not fully described",
        "  by the vendor document.",
        f"- Violations of the fake's contract: {fake_violations} (the fake serves everything the SDK sends).",
        "- Sent on every request: `Authorization: Bearer`, `Accept: application/json` and",
        "  `Content-Type: application/json`, the last one on GET and DELETE too, without a body.",
        "  No `X-Request-ID`, no retries; pages are fetched back to back.",
        "",
        "## What the SDK sends that the vendor document does not describe",
        "",
    ]
    grouped: dict[str, list[str]] = {}
    for r in differing:
        for finding in r.vendor:
            key = f"{r.method} {r.template}: {finding}"
            grouped.setdefault(key, [])
            if r.call not in grouped[key]:
                grouped[key].append(r.call)
    if not grouped:
        lines.append("Nothing: every request matches the vendor document.")
    for key, calls in grouped.items():
        note = next((f" ({text})" for marker, text in ERRATA.items() if marker in key), "")
        lines.append(f"- {key}{note}  ")
        lines.append(f"  sent by: {', '.join(f'`{c}`' for c in calls)}")
    lines += [
        "",
        "## Every call",
        "",
        "| SDK call | outcome | request | status | fake's contract | vendor document |",
        "|---|---|---|---|---|---|",
    ]
    order = {name: i for i, (name, _) in enumerate(CALLS)}
    for r in sorted(rows, key=lambda r: (order.get(r.call, 99), r.method, r.template)):
        fake = "ok" if not r.fake else "; ".join(r.fake)
        vendor = "ok" if not r.vendor else "<br>".join(_cell(v) for v in r.vendor)
        lines.append(
            f"| `{r.call}` | {outcomes.get(r.call, '?')} | {r.describe()} | {r.status} | {_cell(fake)} | {vendor} |"
        )
    missing = [name for name, _ in CALLS if name not in outcomes]
    if missing:
        lines += ["", "Calls not made: " + ", ".join(f"`{m}`" for m in missing)]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def generate(vendor_spec: str | Path | None = None) -> str:
    spec = Path(vendor_spec) if vendor_spec else default_vendor_spec()
    if spec is None or not spec.is_file():
        raise HarnessError(
            "the vendor's hubble-openapi.yaml was not found; give --vendor-spec (or MOCKSERVER_HUBBLE_VENDOR_SPEC)"
        )
    requests, outcomes, violations = collect(spec)
    return render(requests, outcomes, violations, spec)


def main(output: str | None = None, vendor_spec: str | None = None, check: bool = False) -> int:
    target = Path(output) if output else DEFAULT_OUTPUT
    text = generate(vendor_spec)
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            print(f"{target} is out of date; run `mockserver contracts sdk-report`", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
