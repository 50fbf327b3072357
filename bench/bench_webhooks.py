"""Benchmark the webhook delivery engine (a script, not a test).

    python bench/bench_webhooks.py [--messages 2000] [--advance-messages 10000] [--receivers 1]

A receiver process (raw asyncio HTTP/1.1, answers 200 to everything, so it costs as little
as possible and runs on its own core) listens on one or more local ports. Then:

1. deliveries per second: N messages enqueued under a frozen clock and delivered by one
   `timers.advance(0)` (every one is a real HTTP POST: the engine's keep-alive HTTP/1.1 client);
2. one frozen-clock advance over 10,000 pending messages: how long `timers.advance(60)`
   takes to deliver them all.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mockserver.kernel.clock import Clock, Timers  # noqa: E402
from mockserver.kernel.ids import Ids  # noqa: E402
from mockserver.kernel.store import Store  # noqa: E402
from mockserver.webhooks import RetryPolicy, WebhookEngine  # noqa: E402

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class _Answer200(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = 0
            for line in self.buffer[:head_end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]


def _receiver_main(count: int, ports: multiprocessing.Queue) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(_Answer200, "127.0.0.1", 0) for _ in range(count)]
        ports.put([s.sockets[0].getsockname()[1] for s in servers])
        await asyncio.Event().wait()

    asyncio.run(serve())


def _engine(max_in_flight: int, per_origin: int) -> WebhookEngine:
    clock = Clock("frozen", start=1_767_225_600.0)
    store = Store()
    policies = {"bench": RetryPolicy(delays=[60.0] * 3, timeout=30)}
    return WebhookEngine(
        clock,
        Timers(clock),
        store,
        Ids(1, store, "webhooks"),
        policies,
        max_in_flight=max_in_flight,
        per_origin_in_flight=per_origin,
    )


def _enqueue(engine: WebhookEngine, urls: list[str], n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        engine.enqueue(
            "bench",
            f"ep{i % len(urls)}",
            urls[i % len(urls)],
            {"event": "packet", "seq": i, "payload": "AAECAwQFBgcICQ==", "device_id": f"dev-{i % 97}"},
            {"HTTP-X-HUBBLE-TOKEN": "secret"},
            event_type="packet",
        )
    return time.perf_counter() - started


async def _bench(args: argparse.Namespace, urls: list[str]) -> None:
    # 1. deliveries per second
    engine = _engine(args.max_in_flight, args.per_origin)
    await engine.start()
    _enqueue(engine, urls[:1], 50)  # warm up connections
    await engine.timers.advance(0)
    engine.clear()
    enqueue_s = _enqueue(engine, urls, args.messages)
    started, cpu = time.perf_counter(), time.process_time()
    await engine.timers.advance(0)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stats = engine.stats("bench")
    assert stats["sent"] == args.messages, stats
    print(
        f"deliveries: {args.messages} messages to {len(urls)} receiver port(s) in {elapsed:.2f} s "
        f"= {args.messages / elapsed:,.0f} deliveries/s; engine CPU {cpu * 1000 / args.messages:.2f} ms/delivery "
        f"(enqueue {enqueue_s * 1e6 / args.messages:.0f} us/msg)"
    )
    await engine.stop()

    # 2. one frozen-clock advance over many pending messages
    engine = _engine(args.max_in_flight, args.per_origin)
    await engine.start()
    enqueue_s = _enqueue(engine, urls, args.advance_messages)
    started, cpu = time.perf_counter(), time.process_time()
    fired = await engine.timers.advance(60)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stats = engine.stats("bench")
    assert stats["sent"] == args.advance_messages and fired == args.advance_messages, stats
    print(
        f"advance: one timers.advance(60) over {args.advance_messages} pending messages took "
        f"{elapsed:.2f} s ({args.advance_messages / elapsed:,.0f}/s; engine CPU "
        f"{cpu * 1000 / args.advance_messages:.2f} ms/delivery; enqueue {enqueue_s:.2f} s)"
    )
    started = time.perf_counter()
    listed = engine.messages(api="bench", state="sent", limit=100)
    stats = engine.stats("bench")
    print(
        f"read: messages(limit=100) + stats over {len(engine.store.table('webhooks.messages'))} records "
        f"took {(time.perf_counter() - started) * 1000:.1f} ms ({len(listed)} listed)"
    )
    await engine.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--advance-messages", type=int, default=10_000)
    parser.add_argument("--receivers", type=int, default=1, help="receiver ports (origins)")
    parser.add_argument("--max-in-flight", type=int, default=64)
    parser.add_argument("--per-origin", type=int, default=8)
    args = parser.parse_args()

    ports_q: multiprocessing.Queue = multiprocessing.Queue()
    receiver = multiprocessing.Process(target=_receiver_main, args=(args.receivers, ports_q), daemon=True)
    receiver.start()
    try:
        ports = ports_q.get(timeout=10)
        urls = [f"http://127.0.0.1:{port}/hook" for port in ports]
        asyncio.run(_bench(args, urls))
    finally:
        receiver.terminate()
        receiver.join(5)


if __name__ == "__main__":
    main()
