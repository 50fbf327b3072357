"""One request pipeline for every API mount.

request id + journal -> faults -> route (by operationId) -> auth -> rate limit ->
request validation (every violation, in the API's own error shape) -> handler ->
response validation (strict mode: a response that breaks the spec becomes a 500 that says
so, because the fake must check itself) -> rate-limit and request-id headers -> flush
state -> send.

Handlers are plain functions `handler(call) -> Reply | dict | list` (sync or async) that
read and write the API's model; everything else here is shared.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers

from . import undeclared
from .errors import (
    ApiError,
    BadRequest,
    ErrorRenderer,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
)
from .faults import FaultDisconnect
from .memo import BoundedDict
from .ratelimit import Decision
from .spec import NoRoute, Operation, Spec, Violation, dumps
from .validation import parse_request

if TYPE_CHECKING:
    from .runtime import Runtime

JSON = "application/json"
log = logging.getLogger("mockserver")


@dataclass
class Reply:
    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = JSON
    content: bytes | None = None  # raw bytes (a PDF) instead of a JSON body
    # a handler that has them at hand: `encoded`, exactly the bytes `dumps(body)` gives
    # (the body is still what the response check validates), and `check_key`, an object
    # that stands for the body's content (the same object, the same body)
    encoded: bytes | None = None
    check_key: Any = None


@dataclass
class Call:
    """Everything a handler may need about one request."""

    api: str
    op: Operation
    method: str
    path: str
    path_params: dict[str, Any]
    query: dict[str, Any]
    headers: Headers
    raw_query: str
    raw_body: bytes
    body: Any
    request_id: str
    runtime: Runtime
    model: Any
    principal: Any = None
    debug: dict[str, Any] = field(default_factory=dict)  # shown in the journal entry

    @property
    def now(self) -> float:
        return self.runtime.clock.now()

    def param(self, name: str, default: Any = None) -> Any:
        if name in self.path_params:
            return self.path_params[name]
        return self.query.get(name, default)


class RequestHeaders(Headers):
    """Starlette's Headers with a `get` that reads a dict built on first use: a request's
    headers are looked up half a dozen times (request id, fault, auth, parameters, paging),
    and most of those names are absent, which Headers answers by scanning the list and
    raising KeyError each time. Same answers: lowercase names, the first of repeated ones."""

    _first: dict[str, str] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        first = self._first
        if first is None:
            first = {}
            for name, value in self.raw:
                first.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
            self._first = first
        found = first.get(key)  # the pipeline and the APIs ask in lower case already
        if found is None and not key.islower():
            found = first.get(key.lower())
        return default if found is None else found

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value


Handler = Callable[[Call], Any]
Authenticator = Callable[[Call], Any]
RateBuckets = Callable[[Call], list | None]
RefusalHeaders = Callable[[Call], dict[str, str]]


class ApiMount:
    """An ASGI app serving one API's operations from its compiled spec."""

    def __init__(
        self,
        name: str,
        spec: Spec,
        handlers: Mapping[str, Handler],
        runtime: Runtime,
        model: Any,
        render_error: ErrorRenderer,
        authenticate: Authenticator | None = None,
        rate_buckets: RateBuckets | None = None,
        rate_limited_headers: RefusalHeaders | None = None,
    ) -> None:
        missing = sorted(set(spec.operations) - set(handlers))
        if missing:
            raise ValueError(f"{name}: no handler for operations {missing}")
        self.name = name
        self.spec = spec
        self.handlers = handlers
        self.runtime = runtime
        self.model = model
        self.render_error = _takes_call(render_error)
        self.authenticate = authenticate
        self.rate_buckets = rate_buckets
        self.rate_limited_headers = rate_limited_headers  # what an API adds to its 429 (a resume token)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        rt = self.runtime
        started = time.perf_counter()
        headers = RequestHeaders(scope=scope)
        root = scope.get("root_path", "")
        full_path = scope["path"]
        path = full_path[len(root) :] if root and full_path.startswith(root) else full_path
        method = scope["method"]
        raw_query = scope.get("query_string", b"").decode("latin-1")
        request_id = headers.get("x-request-id") or rt.next_request_id()
        entry: dict[str, Any] = {
            "id": request_id,
            "at": rt.clock.now(),
            "api": self.name,
            "method": method,
            "path": full_path,
            "query": raw_query,
            "operation_id": None,
            # the raw ASGI list: the journal cuts it to its limits and renders it when read
            "request": {"headers": scope.get("headers") or []},
        }
        op: Operation | None = None
        extra_headers: dict[str, str] = {}
        call: Call | None = None
        try:
            op, raw_params = self._route(method, path)
            entry["operation_id"] = op.operation_id
            if await self._fault(op, method, path, headers, request_id, entry, receive, send):
                return
            # an operation that takes no body ignores one (drained, not kept: no size limit applies)
            raw_body = await read_body(receive, rt.settings.max_body_bytes if op.takes_body else None)
            entry["request"]["body"] = raw_body
            call = Call(
                api=self.name,
                op=op,
                method=method,
                path=path,
                path_params=raw_params,
                query={},
                headers=headers,
                raw_query=raw_query,
                raw_body=raw_body,
                body=None,
                request_id=request_id,
                runtime=rt,
                model=self.model,
            )
            self._admit(call, extra_headers)
            self._validate(call, raw_params, entry)
            reply = await self._handle(call)
        except ApiError as err:
            if err.violations and "violations" not in entry:
                entry["violations"] = [v.as_dict() for v in err.violations]
            reply = Reply(body=self.render_error(err, call), status=err.status, headers=dict(err.headers))
            entry["error"] = err.detailed_message()
        except FaultDisconnect:
            raise  # a connection fault where the server offers no socket: the client sees an error
        except Exception as exc:  # a bug in the fake: say so in the API's shape, never crash
            log.exception("handler failed")
            crash = InternalError(f"internal error in the fake: {type(exc).__name__}: {exc}")
            reply = Reply(body=self.render_error(crash, call), status=500)
            entry["error"] = crash.message
        finally:
            if call is not None and call.debug:
                entry["debug"] = call.debug
        await self._respond(op, reply, extra_headers, request_id, entry, started, send)

    # -- the steps, in order --------------------------------------------------------------------
    def _route(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation for this method and path: 404 for an unknown path, 405 (with
        `Allow`) for a known path and another method."""
        try:
            return self.spec.match(method, path)
        except NoRoute as exc:
            if exc.allowed:
                raise MethodNotAllowed(
                    f"method {method} is not allowed on {path}; allowed: {', '.join(exc.allowed)}",
                    headers={"Allow": ", ".join(exc.allowed)},
                ) from None
            raise NotFound(f"no such endpoint: {method} {path}") from None

    async def _fault(
        self, op: Operation, method: str, path: str, headers: Headers, request_id: str,
        entry: dict[str, Any], receive: Callable, send: Callable,
    ) -> bool:  # fmt: skip
        """Apply an injected fault; True when it answered (or dropped) the request itself."""
        rt = self.runtime
        fault = rt.faults.match(self.name, op.operation_id, method, path, headers)
        if fault is None:
            return False
        entry["fault"] = fault.describe()
        if fault.finishes:
            entry["status"] = fault.status
            rt.journal.record(entry)  # before the client can see the outcome
            await fault.apply(receive, send, self._error_bytes, {"X-Request-ID": request_id})
            return True
        if await fault.apply(receive, send, self._error_bytes, {"X-Request-ID": request_id}):
            entry["error"] = "the client closed the connection during the injected delay"
            rt.journal.record(entry)  # nothing more to do: the request is dropped, its memory freed
            return True
        return False

    def _admit(self, call: Call, extra_headers: dict[str, str]) -> None:
        """Auth (401/403), then rate-limit accounting (429); the limiter's headers go on
        every answer from here on."""
        if self.authenticate is not None:
            call.principal = self.authenticate(call)
        if self.rate_buckets is not None:
            buckets = self.rate_buckets(call)
            if buckets:
                decision: Decision = self.runtime.limiter.check(buckets)
                extra_headers.update(decision.headers())
                if not decision.allowed:
                    refused = {"Retry-After": str(decision.retry_after)}
                    if self.rate_limited_headers is not None:
                        refused.update(self.rate_limited_headers(call))
                    raise RateLimited(f"rate limit exceeded; retry after {decision.retry_after} s", headers=refused)

    def _validate(self, call: Call, raw_params: dict[str, str], entry: dict[str, Any]) -> None:
        violations = self._parse_and_validate(call, raw_params)
        ignored = undeclared.find(self.spec, call.op, call.headers, call.raw_query)  # answered, but recorded
        if violations or ignored:
            entry["violations"] = [v.as_dict() for v in violations + ignored]
        if violations:
            raise BadRequest("the request does not match the API specification", violations=violations)

    async def _handle(self, call: Call) -> Reply:
        result = self.handlers[call.op.operation_id](call)
        if type(result) is Reply:
            return result
        if type(result) not in _PLAIN and inspect.isawaitable(result):
            result = await result
        return result if isinstance(result, Reply) else Reply(body=result)

    async def _respond(
        self, op: Operation | None, reply: Reply, extra_headers: dict[str, str], request_id: str,
        entry: dict[str, Any], started: float, send: Callable,
    ) -> None:  # fmt: skip
        """Encode, check the response against the spec, flush state, journal, send."""
        rt = self.runtime
        if reply.content is not None:
            body = reply.content
        elif reply.encoded is not None:
            body = reply.encoded
        else:
            body = b"" if reply.body is None and reply.status == 204 else dumps(reply.body)
        if op is not None:
            problems = self._check_response(op, reply, body)
            if problems:
                entry["response_violations"] = [v.as_dict() for v in problems]
                if rt.settings.strict:
                    err = InternalError(
                        "the fake produced a response that breaks its own specification",
                        violations=problems,
                    )
                    reply = Reply(body=self.render_error(err), status=500)
                    body = dumps(reply.body)
        out_headers = {**extra_headers, **reply.headers, "X-Request-ID": request_id}
        if reply.status != 204:
            out_headers["Content-Type"] = reply.media_type
        rt.store.flush(deferrable=True)  # what the client is told was written is on disk
        entry["status"] = reply.status
        entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        entry["response"] = {"headers": out_headers, "body": body}
        rt.journal.record(entry)
        await _send(send, reply.status, out_headers, body)

    def _error_bytes(self, status: int, message: str) -> bytes:
        return dumps(self.render_error(ApiError(status, message)))

    @staticmethod
    def _parse_and_validate(call: Call, raw_params: dict[str, str]) -> list[Violation]:
        parsed = parse_request(call.op, raw_params, call.headers, call.raw_query, call.raw_body)
        call.path_params, call.query, call.body = parsed.path_params, parsed.query, parsed.body
        return parsed.violations

    def _check_response(self, op: Operation, reply: Reply, body: bytes | None = None) -> list[Violation]:
        spec_resp = op.response(reply.status)
        if spec_resp is None:
            return [Violation("response.status", f"status {reply.status} is not documented for {op.operation_id}")]
        if reply.status == 204 or (reply.body is None and reply.content is None):
            return []
        if reply.media_type not in spec_resp.schemas:
            if not spec_resp.schemas:
                return [Violation("response.body", f"{op.operation_id} {reply.status} documents no body")]
            return [Violation("response.content-type", f"{reply.media_type} is not documented for {op.operation_id} {reply.status}")]
        schema = spec_resp.schemas[reply.media_type]
        if schema is None or reply.content is not None:
            return []
        if body is None:
            return schema.errors(reply.body, "response.body")
        return _RESPONSE_CHECKS.errors(schema, reply.body, body, reply.check_key)


class _ResponseChecks:
    """Response validation results by (schema, encoded body).

    A body is checked as the bytes the client receives: the same bytes against the same
    compiled schema always give the same answer, so a repeated answer (a poll of unchanged
    state) is checked once. The key is the body's length and hash (not the bytes, which
    would hold memory), or, when the handler gives one, the identity of an object standing
    for the body's content (held here, so its id cannot be reused for other content while
    the entry lives): no hashing of a large body. The table is bounded and forgets its
    oldest entries first."""

    MAX_ENTRIES = 4096

    def __init__(self) -> None:
        self._results: BoundedDict[tuple[int, int, int], tuple[Any, tuple[Violation, ...], Any]] = BoundedDict(self.MAX_ENTRIES)

    def errors(self, schema: Any, value: Any, body: bytes, stands_for: Any = None) -> list[Violation]:
        key = (id(schema), len(body), hash(body)) if stands_for is None else (id(schema), -1, id(stands_for))
        hit = self._results.get(key)
        if hit is not None and hit[0] is schema and hit[2] is stands_for:
            return list(hit[1])
        problems = schema.errors(value, "response.body")
        self._results.put(key, (schema, tuple(problems), stands_for))
        return problems


_RESPONSE_CHECKS = _ResponseChecks()
_PLAIN = (dict, list, str, int, float, bool, type(None))  # handler results that cannot be awaited


def _takes_call(render: Callable[..., Any]) -> ErrorRenderer:
    """The renderer as `render(err, call)`; one written as `render(err)` (before renderers
    received the call) is wrapped."""
    try:
        params = list(inspect.signature(render).parameters.values())
    except (TypeError, ValueError):
        return render
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params):
        return render

    def with_call(err: ApiError, call: Call | None = None, /) -> Any:
        return render(err)

    return with_call


_HEADER_NAMES: dict[str, bytes] = {}  # response header name -> its lower-case bytes


class BodyTooLarge(PayloadTooLarge):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")


async def read_body(receive: Callable[[], Awaitable[dict]], limit: int | None) -> bytes:
    """The request body; BodyTooLarge past `limit` bytes; with no limit (an operation that
    takes no body) it is read to the end and dropped."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if limit is None:
            continue
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _send(send: Callable, status: int, headers: dict[str, str], body: bytes) -> None:
    names = _HEADER_NAMES
    raw_headers = []
    for k, v in headers.items():
        name = names.get(k)
        if name is None:
            name = k.lower().encode("latin-1")
            if len(names) < 256:  # the few names the APIs answer with
                names[k] = name
        raw_headers.append((name, str(v).encode("latin-1")))
    if status != 204:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body if status != 204 else b""})
