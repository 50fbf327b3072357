"""`mockserver contracts client -- COMMAND`: a user's client (their test suite) against a fresh
fake, and a readable report of every request it sent that breaks the spec.

The fake journals each request that violates its spec (and answers it 400); here the
journal is read back after the command finished and each violating request is shown with
its operation, what was wrong and the request as sent (credentials masked). Requests to
paths or methods the spec does not have are reported too. With `--vendor-spec`, every Hubble
request is also checked against the vendor's own document (openapi-core).

Exit: the command's own exit code when it failed, else 1 when a request broke the spec,
else 0. 2 when the command cannot be started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from .target import HarnessError

SECRET_HEADERS = {"authorization", "x-api-key", "x-signature", "cookie", "http-x-hubble-token"}
SHOWN_HEADERS = {"content-type", "continuation-token", "accept", "x-request-id", "x-timestamp"} | SECRET_HEADERS


@dataclass
class Violation:
    api: str
    operation: str
    method: str
    path: str
    query: str
    status: int | None
    problems: list[str]
    headers: dict[str, str]
    body: str
    kind: str = "request"  # request | unknown-endpoint | fake-response
    count: int = 1
    ids: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.kind, self.api, self.operation, self.method, tuple(self.problems))

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def environment(server: Any) -> dict[str, str]:
    """The variables a user's command gets: where the fake is and its sandbox credentials."""
    creds = server.credentials()
    env = {
        "MOCKSERVER_URL": server.base_url,
        "HUBBLE_BASE_URL": server.hubble_url,
        "HUBBLE_ORG_ID": creds["hubble"]["org_id"],
        "HUBBLE_API_TOKEN": creds["hubble"]["token"],
        "HUBBY_BASE_URL": server.hubby_url,
        "HUBBY_API_KEY": creds["hubby"]["api_key"],
        "HUBBY_SECRET": creds["hubby"]["secret"],
        "BUMBLEBEE_BASE_URL": server.bumblebee_url,
    }
    if server.settings.admin_token:
        env["MOCKSERVER_ADMIN_TOKEN"] = server.settings.admin_token
    return env


def mask(name: str, value: str) -> str:
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, sep, secret = value.partition(" ")
    if sep and scheme.lower() in ("bearer", "basic"):
        return f"{scheme} {secret[:4]}***"
    return f"{value[:4]}***"


def _request_view(entry: dict[str, Any]) -> tuple[dict[str, str], str]:
    request = entry.get("request") or {}
    headers = {k: mask(k, str(v)) for k, v in (request.get("headers") or {}).items() if k.lower() in SHOWN_HEADERS}
    body = request.get("body") or ""
    if not isinstance(body, str):
        body = json.dumps(body)
    return headers, body


def violations_from_journal(violating: list[dict[str, Any]], everything: list[dict[str, Any]]) -> list[Violation]:
    """Journal entries (newest first, as the control plane returns them) -> violations, oldest
    first, identical ones folded together."""
    found: dict[tuple[Any, ...], Violation] = {}

    def add(v: Violation) -> None:
        if v.key in found:
            found[v.key].count += 1
            found[v.key].ids.append(v.ids[0])
        else:
            found[v.key] = v

    for entry in reversed(violating):
        headers, body = _request_view(entry)
        base = dict(
            api=entry.get("api", ""), operation=entry.get("operation_id") or "?", method=entry.get("method", ""),
            path=entry.get("path", ""), query=entry.get("query", ""), status=entry.get("status"),
            headers=headers, body=body, ids=[str(entry.get("id"))],
        )
        if entry.get("violations"):
            add(Violation(problems=[f"{v['location']}: {v['message']}" for v in entry["violations"]], **base))
        if entry.get("response_violations"):
            add(Violation(problems=[f"{v['location']}: {v['message']}" for v in entry["response_violations"]],
                          kind="fake-response", **base))
    for entry in reversed(everything):
        if entry.get("operation_id") is None and entry.get("status") in (404, 405):
            headers, body = _request_view(entry)
            add(Violation(
                api=entry.get("api", ""), operation="(none)", method=entry.get("method", ""), path=entry.get("path", ""),
                query=entry.get("query", ""), status=entry.get("status"),
                problems=[entry.get("error") or "no such operation in the spec"], headers=headers, body=body,
                kind="unknown-endpoint", ids=[str(entry.get("id"))],
            ))
    return list(found.values())


def format_report(command: list[str], exit_code: int, violations: list[Violation], vendor: list[str] | None = None,
                  truncated: bool = False) -> str:
    client = [v for v in violations if v.kind != "fake-response"]
    fake = [v for v in violations if v.kind == "fake-response"]
    total = sum(v.count for v in client)
    lines = [
        f"mockserver contracts client: `{' '.join(command)}` exited {exit_code}; "
        + (f"{total} request(s) broke the spec ({len(client)} distinct)" if client else "no request broke the spec")
    ]
    for n, v in enumerate(client, 1):
        where = v.path + (f"?{v.query}" if v.query else "")
        title = "no such operation" if v.kind == "unknown-endpoint" else v.operation
        times = f"  (x{v.count}; first shown)" if v.count > 1 else ""
        lines.append(f"\n{n}. {v.api} {title}: {v.method} {where} -> {v.status}{times}")
        lines += [f"   - {p}" for p in v.problems]
        lines.append("   request as sent:")
        lines += [f"     {k}: {val}" for k, val in v.headers.items()]
        if v.body:
            lines.append(f"     {v.body[:1000]}")
    if fake:
        lines.append(f"\nThe fake's own answers broke its spec {sum(v.count for v in fake)} time(s) (a bug in the fake, not your client):")
        for v in fake:
            lines.append(f"  - {v.api} {v.operation} {v.method} {v.path}: " + "; ".join(v.problems))
    if vendor:
        lines.append("\nAgainst the vendor's own document (informational):")
        lines += [f"  - {line}" for line in vendor]
    if truncated:
        lines.append("\n(the fake's journal overflowed: requests to unknown endpoints may be missing)")
    return "\n".join(lines)


def run_client(
    command: list[str],
    *,
    report_path: str | None = None,
    json_path: str | None = None,
    vendor_spec: str | None = None,
    rate_limit: bool = True,
    seed: int | None = None,
    scenario: str | None = None,
) -> int:
    from ..settings import Settings
    from ..testing import MockServer

    vendor_doc = None
    if vendor_spec:
        from .vendor import VendorDocument

        vendor_doc = VendorDocument(vendor_spec, mount="/hubble")
    settings = Settings.from_env(seed=seed, scenario=scenario)
    try:
        server = MockServer(settings, rate_limit=rate_limit).start()
    except Exception as exc:
        raise HarnessError(f"cannot start the fake: {type(exc).__name__}: {exc}") from None
    try:
        env = {**os.environ, **environment(server)}
        print(f"mockserver contracts client: fake at {server.base_url}; running {' '.join(command)}", flush=True)
        try:
            code = subprocess.call(command, env=env)
        except FileNotFoundError:
            raise HarnessError(f"command not found: {command[0]}") from None
        except PermissionError:
            raise HarnessError(f"cannot run {command[0]}: permission denied") from None
        violating = server.requests(violations="true")
        everything = server.requests()
        truncated = server.runtime.journal.total > len(everything)
        violations = violations_from_journal(violating, everything)
        vendor_lines = None
        if vendor_doc is not None:
            from .vendor import check_entries

            vendor_lines = []
            seen = set()
            for _entry, findings in check_entries(vendor_doc, [e for e in reversed(everything) if e.get("api") == "hubble"]):
                for f in findings:
                    line = f"{f.method} {f.path}: {f.detail}"
                    if line not in seen:
                        seen.add(line)
                        vendor_lines.append(line)
    finally:
        server.stop()
    report = format_report(command, code, violations, vendor_lines, truncated)
    print(report, flush=True)
    if report_path:
        with open(report_path, "w", encoding="utf-8") as fh:
            fh.write("```\n" + report + "\n```\n")
    if json_path:
        with open(json_path, "w", encoding="utf-8") as fh:
            json.dump([v.as_dict() for v in violations], fh, indent=2)
    if code != 0:
        return code
    return 1 if any(v.kind != "fake-response" for v in violations) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_client(sys.argv[1:]))
