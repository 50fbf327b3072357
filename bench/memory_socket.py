"""The transport side of an in-memory connection, for driving uvicorn's protocol without a
socket (bench/profile_server.py, bench/count_instructions.py): counts the answers written."""

from __future__ import annotations

from typing import Any


class MemorySocket:
    def __init__(self) -> None:
        self.answers = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.answers += data.count(b"HTTP/1.1 ")

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
