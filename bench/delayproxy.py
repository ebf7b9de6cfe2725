#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A TCP delay line for bench/run.sh: accept on LISTEN, connect each client to TARGET, and hold
every chunk of data DELAY_MS milliseconds in each direction, so that a request/response round
trip takes 2 x DELAY_MS longer. Data keeps flowing while earlier chunks wait (a delay line,
not stop-and-wait), so throughput is not limited by the delay. TCP slow start and the
congestion window of a real long path are not emulated: what this measures is the cost of
round trips, which is what pipelining is about. Used because this kernel has no sch_netem.

usage: delayproxy.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT DELAY_MS PIDFILE

Safety: TARGET_ADDR must be a loopback address and LISTEN_ADDR a loopback or private address
(run.sh passes its own veth address), so that nothing is forwarded off the machine.
PIDFILE is written once the listener is up (run.sh waits for it) and removed on SIGTERM.
Only the standard library is used.
"""
from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
import sys
import time

CHUNK = 256 * 1024
QUEUE_LIMIT = 16 * 1024 * 1024  # stop reading a side while this much waits in its delay line


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} delayproxy[{os.getpid()}]: {msg}", flush=True)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> int:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    waiting = 0
    room = asyncio.Event()
    room.set()
    total = 0

    async def receive() -> None:
        nonlocal waiting
        while True:
            try:
                data = await reader.read(CHUNK)
            except (ConnectionError, OSError):
                data = b""
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                return
            waiting += len(data)
            if waiting > QUEUE_LIMIT:
                room.clear()
                await room.wait()

    rx = asyncio.ensure_future(receive())
    try:
        while True:
            due, data = await queue.get()
            pause = due - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                await writer.drain()
                break
            writer.write(data)
            await writer.drain()
            total += len(data)
            waiting -= len(data)
            if waiting <= QUEUE_LIMIT:
                room.set()
    except (ConnectionError, OSError):
        pass
    finally:
        rx.cancel()
    return total


async def handle(creader, cwriter, target: str, port: int, delay: float) -> None:
    peer = cwriter.get_extra_info("peername")
    try:
        sreader, swriter = await asyncio.open_connection(target, port)
    except OSError as e:
        log(f"connect to {target}:{port} failed: {e}")
        cwriter.close()
        return
    for w in (cwriter, swriter):
        s = w.get_extra_info("socket")
        if s is not None:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    up, down = await asyncio.gather(pipe(creader, swriter, delay), pipe(sreader, cwriter, delay))
    for w in (cwriter, swriter):
        try:
            w.close()
        except Exception:
            pass
    log(f"{peer}: {up} octets up, {down} down")


async def main(argv: list[str]) -> None:
    laddr, lport, taddr, tport, delay_ms, pidfile = argv[1:7]
    if not ipaddress.ip_address(taddr).is_loopback:
        sys.exit("delayproxy.py: the target must be a loopback address")
    la = ipaddress.ip_address(laddr)
    if not (la.is_loopback or la.is_private) or la.is_unspecified:
        sys.exit("delayproxy.py: the listen address must be a loopback or private address")
    delay = float(delay_ms) / 1000.0
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, taddr, int(tport), delay), laddr, int(lport), reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with open(pidfile + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(pidfile + ".tmp", pidfile)
    log(f"listening on {laddr}:{lport} -> {taddr}:{tport}, {delay_ms} ms each way")
    async with server:
        await stop.wait()
    try:
        os.unlink(pidfile)
    except OSError:
        pass
    log("stopped")


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv))
