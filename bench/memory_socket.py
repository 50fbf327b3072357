"""In-memory connections to uvicorn's protocol, for driving it without a socket
(bench/profile_server.py, bench/count_instructions.py)."""

from __future__ import annotations

from typing import Any


class MemorySocket:
    """The transport side of one connection: counts the answers written to it."""

    def __init__(self) -> None:
        self.answers = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        # one request is in flight per connection, so an answer's head starts a write; a scan
        # of the whole write (`count`) would cost a 41 KB page ~14 µs, more than the server
        # layer being measured
        if data.startswith(b"HTTP/1.1 "):
            self.answers += 1

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 40000)}.get(name, default)


def connections(app: Any, uvicorn_options: dict[str, Any], count: int) -> list[tuple[Any, MemorySocket]]:
    """`count` kept-alive connections to `app` served by the protocol `uvicorn_options`
    chooses, as `(protocol, socket)`: feed a request with `protocol.data_received(bytes)`."""
    import uvicorn  # noqa: PLC0415
    from uvicorn.server import ServerState  # noqa: PLC0415

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", **uvicorn_options)
    config.load()
    state = ServerState()
    state.default_headers = [
        (b"date", b"Wed, 02 Dec 2026 12:00:00 GMT"),
        *config.encoded_headers,
    ]  # as uvicorn's Server sets them
    out = []
    for _ in range(count):
        proto = config.http_protocol_class(config=config, server_state=state, app_state={})
        sock = MemorySocket()
        proto.connection_made(sock)
        out.append((proto, sock))
    return out
