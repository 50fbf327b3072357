"""Webhook payload contracts, from the specs' `webhooks:` sections.

- `check_deliveries(base_url)`: every message a running fake emitted
  (`GET /_mock/webhooks/deliveries`) checked against its webhook's body schema and header
  parameters.
- `sample_events(api)`: valid events to send: the spec's examples, then bodies and headers
  generated from the schemas (schemathesis/hypothesis, deterministic for a seed).
- `send_events(url, events)`: POST them to a user's receiver and report how it answered:
  status, time, and whether sending the same event again (same `X-Request-ID`, same body)
  got the same class of answer (idempotent handling).

Specs: Hubble `packet-batch` (hubble-openapi.yaml), Hubby's nine events (hubby-openapi.yaml),
Bumblebee's five data types (bumblebee-webhooks.yaml).
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import httpx

from ..kernel.spec import Schema, Spec, load_document, resource_path
from .target import HarnessError

WEBHOOK_SPECS = {
    "hubble": "hubble-openapi.yaml",
    "hubby": "hubby-openapi.yaml",
    "bumblebee": "bumblebee-webhooks.yaml",
}
DISCRIMINATORS = ("event", "data_type")  # Hubby's `event`, Bumblebee's `data_type`
TRANSPORT_HEADERS = {"content-length", "host", "user-agent", "accept", "accept-encoding", "connection"}


@dataclass
class HeaderContract:
    name: str
    required: bool
    schema: Schema
    example: Any = None


@dataclass
class WebhookContract:
    api: str
    name: str  # the webhook's key in `webhooks:`; the fake's event_type
    operation_id: str
    body: Schema
    body_schema: dict[str, Any]
    headers: list[HeaderContract]
    examples: list[Any]

    def problems(self, body: Any, headers: dict[str, str]) -> list[str]:
        out = [str(v) for v in self.body.errors(body, "body")]
        lowered = {k.lower(): v for k, v in headers.items()}
        for h in self.headers:
            value = lowered.get(h.name.lower())
            if value is None:
                if h.required:
                    out.append(f"header.{h.name}: required header is missing")
                continue
            out.extend(str(v) for v in h.schema.errors(value, f"header.{h.name}"))
        return out


@lru_cache(maxsize=8)
def contracts(api: str) -> dict[str, WebhookContract]:
    """The webhooks one API's spec describes, compiled."""
    if api not in WEBHOOK_SPECS:
        raise HarnessError(f"no webhook spec for {api!r}; one of {', '.join(WEBHOOK_SPECS)}")
    document = load_document(str(resource_path(WEBHOOK_SPECS[api])))
    spec = Spec(api, document)
    out: dict[str, WebhookContract] = {}
    for name, item in (document.get("webhooks") or {}).items():
        op = item.get("post") or {}
        media = ((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}
        if "schema" not in media:
            continue
        headers = []
        for param in op.get("parameters", []):
            param = _deref(document, param)
            if param.get("in") != "header":
                continue
            headers.append(HeaderContract(
                name=param["name"],
                required=bool(param.get("required")),
                schema=spec.schema(param.get("schema", {})),
                example=param.get("example", (param.get("schema") or {}).get("example")),
            ))
        examples = []
        if "example" in media:
            examples.append(media["example"])
        examples += [e["value"] for e in (media.get("examples") or {}).values() if isinstance(e, dict) and "value" in e]
        out[name] = WebhookContract(
            api=api,
            name=name,
            operation_id=op.get("operationId", name),
            body=spec.schema(media["schema"]),
            body_schema=media["schema"],
            headers=headers,
            examples=examples,
        )
    return out


def _deref(document: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    while isinstance(obj, dict) and "$ref" in obj:
        node: Any = document
        for part in obj["$ref"][2:].split("/"):
            node = node[part]
        obj = node
    return obj


def contract_for(api: str, event_type: str | None, body: Any) -> WebhookContract | None:
    table = contracts(api)
    if event_type in table:
        return table[event_type]
    if isinstance(body, dict):
        for key in DISCRIMINATORS:
            if isinstance(body.get(key), str) and body[key] in table:
                return table[body[key]]
    if len(table) == 1:
        return next(iter(table.values()))
    return None


# -- the fake's deliveries ---------------------------------------------------------------
@dataclass
class DeliveryResult:
    id: str
    api: str
    event_type: str | None
    url: str
    state: str | None
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def check_message(message: dict[str, Any]) -> DeliveryResult:
    api = message.get("api") or ""
    body = message.get("body")
    headers = message.get("headers") or {}
    problems: list[str] = []
    if api not in WEBHOOK_SPECS:
        problems.append(f"no webhook spec for api {api!r}")
        contract = None
    else:
        contract = contract_for(api, message.get("event_type"), body)
        if contract is None:
            problems.append(f"event type {message.get('event_type')!r} is not in the {api} spec's webhooks")
    if contract is not None:
        problems += contract.problems(body, headers)
    return DeliveryResult(
        id=str(message.get("id")),
        api=api,
        event_type=message.get("event_type"),
        url=str(message.get("url", "")),
        state=message.get("state"),
        problems=problems,
    )


def fetch_deliveries(base_url: str, api: str | None = None, admin_token: str | None = None) -> list[dict[str, Any]]:
    root = base_url.rstrip("/")
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    try:
        response = httpx.get(f"{root}/_mock/webhooks/deliveries", params={"api": api} if api else None,
                             headers=headers, timeout=30, trust_env=False)
    except httpx.HTTPError as exc:
        raise HarnessError(f"cannot reach {root}: {exc}") from None
    if response.status_code == 401:
        raise HarnessError(f"{root}/_mock refused us (401): give --admin-token")
    if response.status_code != 200:
        raise HarnessError(f"{root}/_mock/webhooks/deliveries answered {response.status_code}; is {root} a mockserver?")
    return list(response.json().get("deliveries", []))


def check_deliveries(base_url: str, api: str | None = None, admin_token: str | None = None) -> list[DeliveryResult]:
    return [check_message(m) for m in reversed(fetch_deliveries(base_url, api, admin_token))]


def format_delivery_report(results: list[DeliveryResult]) -> str:
    if not results:
        return "webhook deliveries: none recorded"
    bad = [r for r in results if r.problems]
    lines = [f"webhook deliveries: {len(results)} checked, {len(bad)} break their spec"]
    by_type: dict[tuple[str, str | None], int] = {}
    for r in results:
        by_type[(r.api, r.event_type)] = by_type.get((r.api, r.event_type), 0) + 1
    for (api, event), n in sorted(by_type.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        lines.append(f"  {api:<10} {event!s:<32} {n}")
    for r in bad:
        lines.append(f"\n  {r.api} {r.event_type} message {r.id} -> {r.url}")
        lines += [f"    - {p}" for p in r.problems]
    return "\n".join(lines)


def drive_fake(root: str, sink_url: str, admin_token: str | None = None) -> None:
    """Make a running fake send every kind of webhook to `sink_url`: a Hubble packet webhook
    and simulated packets; a Hubby booking whose promo code is redeemed, its eSIM installed,
    activated and 85% used; a Bumblebee webhook for every data type and a node report."""
    import requests

    from .auth import HubbyHmacAuth
    from .seeds import example_bodies

    root = root.rstrip("/")
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    with httpx.Client(base_url=f"{root}/_mock", headers=headers, timeout=30, trust_env=False) as control:

        def ok(response: httpx.Response | requests.Response, what: str) -> Any:
            if not 200 <= response.status_code < 300:
                raise HarnessError(f"cannot make the fake emit webhooks: {what} answered {response.status_code}: {response.text[:200]}")
            return response.json()

        creds = ok(control.get("/credentials"), "GET /_mock/credentials")
        hubble, hubby = creds["hubble"], creds["hubby"]
        bearer = {"Authorization": f"Bearer {hubble['token']}"}
        ok(httpx.post(f"{root}/hubble/api/org/{hubble['org_id']}/webhooks", headers=bearer, timeout=30, trust_env=False,
                      json={"url": sink_url, "name": "contract check", "max_batch_size": 10}), "create-webhook-endpoint")
        ok(control.post("/hubble/packets", json={"count": 1}), "POST /_mock/hubble/packets")
        ok(control.put("/hubby/webhook", json={"url": sink_url}), "PUT /_mock/hubby/webhook")
        body = example_bodies(load_document(str(resource_path(WEBHOOK_SPECS["hubby"]))), "hubby")["createBooking"][0]
        body["booking_id"] = f"contract-check-{uuid.uuid4().hex[:12]}"  # booking ids are unique per partner
        auth = HubbyHmacAuth(hubby["api_key"], hubby["secret"], f"{root}/hubby/api")
        booking = ok(requests.post(f"{root}/hubby/api/bookings", json=body, auth=auth, timeout=30), "createBooking")
        code = booking["data"][0]["promo_codes"][0]["promo_code"]
        iccid = ok(control.post(f"/hubby/promo-codes/{code}/redeem", json={}), "redeem")["esim"]["iccid"]
        for step, data in (("install", {}), ("activate", {}), ("consume", {"percent": 85})):
            ok(control.post(f"/hubby/esims/{iccid}/{step}", json=data), f"eSIM {step}")
        ok(httpx.post(f"{root}/bumblebee/webhooks", json={"url": sink_url, "data_types": list(contracts("bumblebee"))},
                      timeout=30, trust_env=False), "Bumblebee createWebhook")
        node = ok(control.get("/bumblebee/nodes"), "GET /_mock/bumblebee/nodes")["nodes"][0]
        ok(control.post(f"/bumblebee/nodes/{node['id']}/report", json={}), "node report")


def wait_until_delivered(root: str, admin_token: str | None = None, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Poll the deliveries until none is pending (first attempts under way)."""
    deadline = time.monotonic() + timeout
    while True:
        messages = fetch_deliveries(root, admin_token=admin_token)
        if not any(m.get("state") == "pending" for m in messages) or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


# -- events for a user's receiver -------------------------------------------------------
@dataclass
class Event:
    api: str
    name: str
    body: Any
    headers: dict[str, str]
    source: str  # "example" | "generated"


def sample_events(api: str, events: list[str] | None = None, count: int = 3, seed: int = 0) -> list[Event]:
    """The spec's examples of each webhook, then `count` generated ones (valid by construction
    and checked again), in a deterministic order for a seed."""
    table = contracts(api)
    names = events or list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise HarnessError(f"{api} has no webhook {', '.join(unknown)}; one of {', '.join(table)}")
    out: list[Event] = []
    for name in names:
        contract = table[name]
        for example in contract.examples:
            out.append(Event(api, name, copy.deepcopy(example), _example_headers(contract), "example"))
        if count > 0:
            for body, generated in _generate(api, name, count, seed):
                # the spec's example header values (a plausible key, the real User-Agent)
                # over generated ones; a receiver's secret comes from --header anyway
                headers = {**_printable(generated), **_example_headers(contract)}
                if not contract.problems(body, headers):
                    out.append(Event(api, name, body, headers, "generated"))
    return out


def _printable(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if v.isprintable() and v.isascii() and v.strip() == v}


def _example_headers(contract: WebhookContract) -> dict[str, str]:
    headers = {}
    for h in contract.headers:
        if h.example is not None:
            headers[h.name] = str(h.example)
        elif h.required and h.name.lower() == "x-request-id":
            headers[h.name] = str(uuid.uuid4())
    return headers


def _generate(api: str, name: str, count: int, seed: int) -> list[tuple[Any, dict[str, str]]]:
    """Generated bodies and headers for one webhook, via schemathesis on a one-operation spec."""
    import hypothesis
    import schemathesis
    from schemathesis.config import SchemathesisConfig

    document = copy.deepcopy(load_document(str(resource_path(WEBHOOK_SPECS[api]))))
    item = document["webhooks"][name]
    synthetic = {
        "openapi": document.get("openapi", "3.1.0"),
        "info": {"title": f"{api} webhook {name}", "version": "1"},
        "paths": {"/receiver": {"post": {**item["post"], "security": []}}},
        "components": document.get("components", {}),
    }
    config = SchemathesisConfig.from_dict({"base-url": "http://127.0.0.1", "generation": {"mode": "positive"}})
    schema = schemathesis.openapi.from_dict(synthetic, config=config)
    strategy = schema["/receiver"]["POST"].as_strategy()
    found: list[tuple[Any, dict[str, str]]] = []

    @hypothesis.given(strategy)
    @hypothesis.settings(
        max_examples=count, derandomize=seed == 0, database=None, deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck), phases=[hypothesis.Phase.generate],
    )
    def collect(case: Any) -> None:
        headers = {k: str(v) for k, v in (case.headers or {}).items()}
        found.append((case.body, headers))

    if seed:
        collect = hypothesis.seed(seed)(collect)
    collect()
    return found[:count]


@dataclass
class SendResult:
    api: str
    event: str
    source: str
    request_id: str | None
    status: int | None
    elapsed_ms: float | None
    error: str | None = None
    duplicate_status: int | None = None
    duplicate_error: str | None = None
    body: Any = field(default=None, repr=False)

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def idempotent(self) -> bool | None:
        """Sent twice, same answer class (2xx/4xx/5xx)? None when not resent."""
        if self.duplicate_status is None and self.duplicate_error is None:
            return None
        return _klass(self.status) == _klass(self.duplicate_status)

    @property
    def ok(self) -> bool:
        return self.accepted and self.idempotent is not False

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "body"}
        data.update(accepted=self.accepted, idempotent=self.idempotent, ok=self.ok)
        return data


def _klass(status: int | None) -> str:
    return "none" if status is None else f"{status // 100}xx"


def send_events(
    url: str,
    events: list[Event],
    *,
    headers: dict[str, str] | None = None,
    duplicates: bool = True,
    timeout: float = 10.0,
) -> list[SendResult]:
    """POST each event to the receiver (and, with `duplicates`, the very same request again)."""
    if not url.startswith(("http://", "https://")):
        raise HarnessError(f"not an http(s) receiver URL: {url!r}")
    extra = headers or {}
    results = []
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        for index, event in enumerate(events):
            sent_headers = {"Content-Type": "application/json", **event.headers, **extra}
            request_id = _request_id(sent_headers, event, index)
            payload = json.dumps(event.body).encode()
            status, elapsed, error = _post(client, url, payload, sent_headers)
            if error is not None and index == 0 and status is None:
                raise HarnessError(f"cannot reach the receiver {url}: {error}")
            result = SendResult(event.api, event.name, event.source, request_id, status, elapsed, error, body=event.body)
            if duplicates:
                result.duplicate_status, _, result.duplicate_error = _post(client, url, payload, sent_headers)
            results.append(result)
    return results


def _request_id(headers: dict[str, str], event: Event, index: int) -> str | None:
    for key in headers:
        if key.lower() == "x-request-id":
            # every event its own id (examples share one); the duplicate reuses it
            headers[key] = f"contracts-{event.api}-{index:04d}-{uuid.uuid5(uuid.NAMESPACE_URL, event.name).hex[:8]}"
            return headers[key]
    return None


def _post(client: httpx.Client, url: str, payload: bytes, headers: dict[str, str]) -> tuple[int | None, float | None, str | None]:
    started = time.perf_counter()
    try:
        response = client.post(url, content=payload, headers=headers)
    except httpx.HTTPError as exc:
        return None, None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return response.status_code, round((time.perf_counter() - started) * 1000, 1), None


def format_send_report(url: str, results: list[SendResult]) -> str:
    lines = [f"webhook receiver {url}: {len(results)} valid events sent"]
    lines.append(f"  {'event':<34} {'source':<9} {'status':>6} {'ms':>8}  duplicate")
    for r in results:
        status = str(r.status) if r.status is not None else "-"
        ms = f"{r.elapsed_ms:.1f}" if r.elapsed_ms is not None else "-"
        if r.idempotent is None:
            dup = "not resent"
        else:
            again = r.duplicate_status if r.duplicate_status is not None else r.duplicate_error
            dup = f"{again} ({'same answer class' if r.idempotent else 'DIFFERENT answer class'})"
        flag = "" if r.ok else "  <- " + ("rejected a valid event" if not r.accepted else "not idempotent")
        lines.append(f"  {r.event:<34} {r.source:<9} {status:>6} {ms:>8}  {dup}{flag}")
        if r.error:
            lines.append(f"      error: {r.error}")
    bad = [r for r in results if not r.ok]
    lines.append(f"{len(results) - len(bad)} ok, {len(bad)} not ok")
    return "\n".join(lines)
