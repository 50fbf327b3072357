"""Tiny servers the contract tests start: a correct little Hubble (a subset of the spec) and
the same server with one deliberate fault switched on, so each check is shown to fail.

It validates requests with the project's compiled spec (`mockserver.kernel.spec`) and keeps
its devices in a dict; nothing of the real fake is used, so these tests run even while the
fake's APIs are being written.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from starlette.datastructures import Headers, QueryParams

from mockserver.kernel.spec import NoRoute, Spec, Violation, load_document, resource_path

JSON = "application/json"

ORG_ID = "7db20441-a04c-49ba-8089-1197b3a66a4b"
FULL_TOKEN = "tiny-full-token"
LIMITED_TOKEN = "tiny-limited-token"
ALL_SCOPES = ("read-devices", "write-devices", "read-billing-usage")
TOKENS = {FULL_TOKEN: set(ALL_SCOPES), LIMITED_TOKEN: {"read-billing-usage"}}
SUBSET = (
    "/api/org/{org_id}/check",
    "/api/v2/org/{org_id}/devices",
    "/api/org/{org_id}/devices",
    "/api/org/{org_id}/devices/{device_id}",
)

# the deliberate faults
WRONG_TYPE = "wrong_type"  # created_ts comes back as a string
NO_SCOPE_CHECK = "no_scope_check"  # any valid key may do anything
SERVER_ERROR = "server_error"  # list-devices crashes when sorting
ENDLESS_PAGING = "endless_paging"  # list-devices always hands back a new token
IGNORE_AUTH = "ignore_auth"  # no key needed
NO_VALIDATION = "no_validation"  # query parameters are not validated
LOSES_DEVICES = "loses_devices"  # registration answers 200 but keeps nothing
KEEPS_DELETED = "keeps_deleted"  # delete answers 200 but keeps the device


def subset_document() -> dict[str, Any]:
    doc = copy.deepcopy(load_document(str(resource_path("hubble-openapi.yaml"))))
    doc["paths"] = {p: item for p, item in doc["paths"].items() if p in SUBSET}
    doc.pop("webhooks", None)
    return doc


def write_subset_spec(directory: Path) -> Path:
    path = directory / "hubble-subset.yaml"
    path.write_text(yaml.safe_dump(subset_document(), sort_keys=False))
    return path


class Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def error(status: int, name: str, description: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"code": status, "name": name, "description": description}, headers)


class TinyHubble:
    def __init__(self, *faults: str) -> None:
        self.faults = set(faults)
        self.spec = Spec("hubble", subset_document())
        self.devices: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        for n in range(3):
            self._store(f"seed-{n}", {"_env": "sandbox"})

    # -- state ---------------------------------------------------------------------------
    def _store(self, name: str, tags: dict[str, str]) -> dict[str, Any]:
        device_id = str(uuid.UUID(int=0x1000 + next(self._ids)))
        device = {
            "id": device_id,
            "name": name,
            "created_ts": 1735689600 + len(self.devices),
            "tags": tags,
            "active": False,
            "most_recent_packet": {},
        }
        self.devices[device_id] = device
        return device

    def _out(self, device: dict[str, Any]) -> dict[str, Any]:
        out = dict(device)
        if WRONG_TYPE in self.faults:
            out["created_ts"] = str(out["created_ts"])
        return out

    # -- ASGI ----------------------------------------------------------------------------
    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = Headers(scope=scope)
        query = QueryParams(scope.get("query_string", b"").decode("latin-1"))
        try:
            result = self.handle(scope["method"], scope["path"], headers, query, body)
            status, payload, extra = 200, result[0], result[1]
        except Reply as reply:
            status, payload, extra = reply.status, reply.body, reply.headers
        self.requests.append({"method": scope["method"], "path": scope["path"], "status": status})
        raw = json.dumps(payload).encode()
        out = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
               (b"x-request-id", f"tiny-{len(self.requests)}".encode())]
        out += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": raw})

    def handle(self, method: str, path: str, headers: Headers, query: QueryParams, body: bytes) -> tuple[Any, dict]:
        path = path[len("/hubble"):] if path.startswith("/hubble") else path
        try:
            op, raw_params = self.spec.match(method, path)
        except NoRoute as exc:
            if exc.allowed:
                raise error(405, "Method Not Allowed", "not allowed", {"Allow": ", ".join(exc.allowed)}) from None
            raise error(404, "Not Found", "no such endpoint") from None
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        if op.security and IGNORE_AUTH not in self.faults and token not in TOKENS:
            raise error(401, "Unauthorized", "a valid bearer key is required")
        params, parsed, violations = self._validate(op, raw_params, headers, query, body)
        if violations:
            raise error(400, "Bad Request", "; ".join(str(v) for v in violations))
        if params["org_id"] != ORG_ID:
            raise error(404, "Not Found", "no such organization")
        needed = op.ext("x-required-scope")
        if needed and NO_SCOPE_CHECK not in self.faults and needed not in TOKENS.get(token or "", ALL_SCOPES):
            raise error(403, "Forbidden", f"the key lacks {needed}")
        return getattr(self, op.operation_id.replace("-", "_"))(params, parsed, headers)

    def _validate(self, op: Any, raw_params: dict, headers: Headers, query: QueryParams, body: bytes):
        params: dict[str, Any] = dict(raw_params)
        violations: list[Violation] = []
        for param in op.parameters:
            if param.location == "path":
                raw: Any = raw_params.get(param.name)
            elif param.location == "query":
                values = query.getlist(param.name)
                raw = values if (values and param.is_array) else (values[-1] if values else None)
            elif param.location == "header":
                raw = headers.get(param.name)
            else:
                continue
            if raw is None:
                if param.required:
                    violations.append(Violation(f"{param.location}.{param.name}", "missing"))
                continue
            value = param.coerce(raw)
            if not (NO_VALIDATION in self.faults and param.location == "query"):
                violations.extend(param.schema.errors(value, f"{param.location}.{param.name}"))
            params[param.name] = value
        parsed = None
        if op.takes_body:
            ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
            if not body.strip():
                if op.body_required:
                    violations.append(Violation("body", "required"))
            elif ctype not in ("", JSON):
                violations.append(Violation("header.Content-Type", f"unsupported {ctype}"))
            else:
                try:
                    parsed = json.loads(body)
                except ValueError:
                    violations.append(Violation("body", "malformed JSON"))
                else:
                    violations.extend(op.body_schemas[JSON].errors(parsed, "body"))
        return params, parsed, violations

    # -- operations ----------------------------------------------------------------------
    def validate_api_key(self, params: dict, body: Any, headers: Headers) -> tuple[Any, dict]:
        return {"org_id": ORG_ID}, {}

    def register_new_devices(self, params: dict, body: Any, headers: Headers) -> tuple[Any, dict]:
        n = int(body.get("n_devices", 1))
        names = body.get("names")
        tags = body.get("tags")
        if (names is not None and len(names) != n) or (tags is not None and len(tags) != n):
            raise error(400, "Bad Request", "names and tags need one entry per device")
        if "eid_rotation" in body and (body["encryption"] != "AES-128-EAX"):
            raise error(400, "Bad Request", "eid_rotation needs AES-128-EAX")
        out = []
        for i in range(n):
            name = names[i] if names else f"device-{len(self.devices)}"
            device = self._store(name, tags[i] if tags else {})
            if LOSES_DEVICES in self.faults:
                del self.devices[device["id"]]
            reg: dict[str, Any] = {
                "device_id": device["id"], "name": name, "created_ts": device["created_ts"],
                "tags": device["tags"], "protocol": {"terrestrial": {"version": 0}},
            }
            if body["encryption"] == "NONE":
                reg["network_id"] = 12345
            else:
                reg["key"] = base64.b64encode(bytes(16)).decode()
            out.append(reg)
        return {"devices": out}, {}

    def list_devices(self, params: dict, body: Any, headers: Headers) -> tuple[Any, dict]:
        if SERVER_ERROR in self.faults and "sort_field" in params:
            raise error(500, "Internal Server Error", "sorting crashed")
        token = headers.get("continuation-token")
        limit = params.get("limit", 250)
        offset = 0
        if token:
            try:
                offset, limit = (int(x) for x in token.split(":"))
            except ValueError:
                raise error(400, "Bad Request", "bad continuation token") from None
        devices = sorted(self.devices.values(), key=lambda d: d["created_ts"])
        page = [self._out(d) for d in devices[offset : offset + limit]]
        out: dict[str, Any] = {"devices": page}
        if not token:
            out["total_devices"] = len(devices)
        extra = {}
        if offset + limit < len(devices) or ENDLESS_PAGING in self.faults:
            extra["Continuation-Token"] = f"{offset + limit}:{limit}"
        return out, extra

    def batch_update_devices(self, params: dict, body: Any, headers: Headers) -> tuple[Any, dict]:
        for update in body["updates"]:
            if update["device_id"] not in self.devices:
                raise error(404, "Not Found", f"no device {update['device_id']}")
        return {"devices": [self._apply(u["device_id"], u) for u in body["updates"]]}, {}

    def _apply(self, device_id: str, update: dict) -> dict[str, Any]:
        device = self.devices[device_id]
        if "set_name" in update:
            device["name"] = update["set_name"]
        if "set_tags" in update:
            device["tags"] = update["set_tags"]
        return self._out(device)

    def _device(self, params: dict) -> dict[str, Any]:
        device = self.devices.get(params["device_id"])
        if device is None:
            raise error(404, "Not Found", "no such device")
        return device

    def get_device(self, params: dict, body: Any, headers: Headers) -> tuple[Any, dict]:
        return self._out(self._device(params)), {}

    def update_device(self, params: dict, body: Any, headers: Headers) -> tuple[Any, dict]:
        self._device(params)
        return self._apply(params["device_id"], body or {}), {}

    def delete_device(self, params: dict, body: Any, headers: Headers) -> tuple[Any, dict]:
        self._device(params)
        if KEEPS_DELETED not in self.faults:
            del self.devices[params["device_id"]]
        return {}, {}


@contextmanager
def serve(app: Any, config: uvicorn.Config | None = None) -> Iterator[str]:
    """Run an ASGI app on a free loopback port in a thread (or as `config` says, on its host
    and port); yields its base URL."""
    config = config or uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("tiny server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- a tiny Hubby: GET /countries behind the HMAC signature ------------------------------
HUBBY_KEY = "tiny-hubby-key"
HUBBY_SECRET = "tiny-hubby-secret"
SKIPS_SIGNATURE = "skips_signature"  # accepts any request, signed or not


def hubby_subset_document() -> dict[str, Any]:
    doc = copy.deepcopy(load_document(str(resource_path("hubby-openapi.yaml"))))
    doc["paths"] = {p: item for p, item in doc["paths"].items() if p == "/countries"}
    doc.pop("webhooks", None)
    return doc


def write_hubby_subset_spec(directory: Path) -> Path:
    path = directory / "hubby-subset.yaml"
    path.write_text(yaml.safe_dump(hubby_subset_document(), sort_keys=False))
    return path


class TinyHubby:
    """Verifies x-api-key / x-timestamp / x-signature independently of the harness' signer:
    HMAC-SHA256 over timestamp + METHOD + "/api" + path[?query], as Hubby documents it."""

    def __init__(self, *faults: str) -> None:
        self.faults = set(faults)
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        headers = Headers(scope=scope)
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope["path"][len("/hubby/api"):] if scope["path"].startswith("/hubby/api") else scope["path"]
        status, body = self.answer(scope["method"], path, query, headers)
        self.requests.append({"method": scope["method"], "path": path, "status": status})
        raw = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})

    def signature_ok(self, method: str, path: str, query: str, headers: Headers) -> bool:
        import hashlib
        import hmac

        key, ts, sig = headers.get("x-api-key"), headers.get("x-timestamp"), headers.get("x-signature")
        if key != HUBBY_KEY or not ts or not sig or not ts.isdigit():
            return False
        if abs(int(ts) - time.time() * 1000) > 300_000:
            return False
        message = f"{ts}{method}/api{path}" + (f"?{query}" if query else "")
        expected = hmac.new(HUBBY_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, sig)

    def answer(self, method: str, path: str, query: str, headers: Headers) -> tuple[int, Any]:
        if path != "/countries":
            return 404, {"success": False, "message": "Not found"}
        if method != "GET":
            return 405, {"success": False, "message": "Method not allowed"}
        if SKIPS_SIGNATURE not in self.faults and not self.signature_ok(method, path, query, headers):
            return 401, {"success": False, "message": "Invalid signature"}
        return 200, {"success": True, "data": [{"iso2": "NL", "iso3": "NLD", "name": "Netherlands", "region": "EU"}]}


# -- helpers for the tests ---------------------------------------------------------------
def tiny_hubble_args(url: str, spec: Path, *extra: str) -> list[str]:
    return [
        "contracts", "run", "--api", "hubble", "--base-url", f"{url}/hubble", "--spec", str(spec),
        "--token", FULL_TOKEN, "--org-id", ORG_ID,
        "--limited-token", LIMITED_TOKEN, "--allow-writes", "--max-examples", "10", "--seed", "7",
        "--rate-limit", "off", *extra,
    ]


def no_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" not in text and not re.search(r"^\s+File \"", text, re.M)
