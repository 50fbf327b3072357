"""Failures in words: the reasons the attempt log shows, from the exceptions both clients
(httpx and the keep-alive client) meet, including ones wrapped in causes and exception
groups (happy eyeballs tries every address of a host)."""

from __future__ import annotations

import errno
import socket
import ssl

import httpx
import pytest

from mockserver.webhooks import diagnosis


def _wrapped(inner: BaseException) -> httpx.ConnectError:
    """What httpx raises: its own error, the OS error as the cause."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise httpx.ConnectError("connect failed") from exc
    except httpx.ConnectError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "connection refused"),
        (_wrapped(ConnectionRefusedError(errno.ECONNREFUSED, "nope")), "connection refused"),
        (_wrapped(ExceptionGroup("several", [OSError(errno.ECONNREFUSED, "x"), OSError(errno.ECONNREFUSED, "y")])),
         "connection refused"),
        (OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 9)"), "connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "could not resolve host"),
        (_wrapped(OSError(errno.EHOSTUNREACH, "No route to host")), "host unreachable"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "host unreachable"),
        (OSError(errno.EACCES, "Permission denied"), "connection failed: PermissionError: [Errno 13] Permission denied"),
    ],
)  # fmt: skip
def test_connect_reasons(exc: BaseException, reason: str) -> None:
    assert diagnosis.connect_reason(exc) == reason


def test_a_tls_failure_names_the_error() -> None:
    reason = diagnosis.connect_reason(_wrapped(ssl.SSLError(1, "CERTIFICATE_VERIFY_FAILED")))
    assert reason.startswith("TLS error: ConnectError: connect failed")


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "connection reset"),
        (BrokenPipeError(errno.EPIPE, "Broken pipe"), "connection reset"),
        (httpx.ReadError("peer reset the stream"), "connection reset"),
        (OSError(errno.EIO, "I/O error"), "network error: OSError: [Errno 5] I/O error"),
        (httpx.WriteError(""), "network error: WriteError"),
    ],
)
def test_network_reasons(exc: BaseException, reason: str) -> None:
    assert diagnosis.network_reason(exc) == reason


def test_protocol_reasons_say_whether_an_answer_had_begun() -> None:
    closed = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    assert diagnosis.protocol_reason(closed, None) == "connection closed without a response"
    cut = httpx.RemoteProtocolError("peer closed connection without sending complete message body")
    assert diagnosis.protocol_reason(cut, 200) == (
        "connection closed mid-response (HTTP 200): peer closed connection without sending complete message body"
    )
    assert diagnosis.protocol_reason(httpx.RemoteProtocolError("illegal status line"), None) == (
        "invalid HTTP response: illegal status line"
    )


@pytest.mark.parametrize(
    ("status", "headers", "reason"),
    [
        (200, {}, None),
        (204, {"location": "/elsewhere"}, None),
        (302, {"location": "https://example.test/new"}, "redirect to https://example.test/new not followed"),
        (304, {}, "HTTP 304"),
        (404, {}, "HTTP 404"),
        (503, {"location": "/x"}, "HTTP 503"),
    ],
)
def test_answer_reasons(status: int, headers: dict[str, str], reason: str | None) -> None:
    assert diagnosis.answer_reason(status, headers) == reason


def test_the_receivers_own_message_only_from_a_json_error_field() -> None:
    assert diagnosis.receiver_message("application/json", '{"error": "Unknown asset"}', 750) == "Unknown asset"
    assert diagnosis.receiver_message("application/problem+json", '{"error": {"code": 7}}', 750) == '{"code":7}'
    assert diagnosis.receiver_message("application/json", '{"error": "' + "x" * 900 + '"}', 750) == "x" * 750
    assert diagnosis.receiver_message("text/plain", '{"error": "hidden"}', 750) is None
    assert diagnosis.receiver_message("application/json", '{"error": null}', 750) is None
    assert diagnosis.receiver_message("application/json", '["error"]', 750) is None
    assert diagnosis.receiver_message("application/json", "not json", 750) is None


def test_decoding_survives_unknown_and_hostile_charsets() -> None:
    assert diagnosis.decode("déjà".encode(), None) == "déjà"
    assert diagnosis.decode(b"caf\xe9", "latin-1") == "café"
    assert diagnosis.decode(b"ok", "no-such-charset") == "ok"
    text = diagnosis.decode(b"+2D3cAA-", "utf-7")  # a lone surrogate in utf-7
    text.encode("utf-8")  # every result can be written out again
