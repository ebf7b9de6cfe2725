#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Small POP3S helpers for bench/run.sh.

    wire.py retr  HOST PORT USER PASSWORD_FILE CA COUNT
        The wire limit: one TLS connection that writes USER, PASS, RETR 1..COUNT and QUIT
        pipelined (as fast as the server takes them), reads every reply into one reused buffer
        and throws it away. No parsing beyond checking that the last reply (QUIT) is +OK and
        that enough octets arrived. Prints the octets received on stderr.
    wire.py cmds  USER PASSWORD_FILE COUNT
        Print that command stream (for `openssl s_client -quiet < file`).
    wire.py rtt   HOST PORT USER PASSWORD_FILE CA
        Log in and time 10 NOOPs, one at a time: prints the median round trip. The certificate
        is verified against CA, the host name is not (HOST is the namespace's veth address).
    wire.py stat  HOST PORT USER PASSWORD_FILE CA
        Log in (USER/PASS) and print "COUNT OCTETS" from STAT: run.sh uses it to rebuild
        Dovecot's index outside the timing after a mailbox is restored, and to check results.

CA is a PEM file; the certificate and host name are verified (HOST must be in it).
Only the standard library is used.
"""
from __future__ import annotations

import poplib
import selectors
import socket
import ssl
import sys


def password(path: str) -> str:
    with open(path) as f:
        return f.readline().rstrip("\r\n")


def commands(user: str, pw: str, count: int) -> bytes:
    return (f"USER {user}\r\nPASS {pw}\r\n".encode()
            + b"".join(b"RETR %d\r\n" % i for i in range(1, count + 1)) + b"QUIT\r\n")


def retr(host: str, port: int, user: str, pw: str, ca: str, count: int) -> int:
    ctx = ssl.create_default_context(cafile=ca)
    raw = socket.create_connection((host, port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = ctx.wrap_socket(raw, server_hostname=host)
    s.setblocking(False)
    out = memoryview(commands(user, pw, count))
    sent = 0
    buf = bytearray(256 * 1024)
    tail = b""
    received = 0
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    eof = False
    while not eof:
        for _key, mask in sel.select():
            if mask & selectors.EVENT_WRITE and sent < len(out):
                try:
                    sent += s.send(out[sent:sent + 65536])
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    pass
                if sent >= len(out):
                    sel.modify(s, selectors.EVENT_READ)
            if mask & selectors.EVENT_READ:
                while True:
                    try:
                        n = s.recv_into(buf)
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        break
                    except ssl.SSLZeroReturnError:
                        n = 0
                    if n == 0:
                        eof = True
                        break
                    received += n
                    tail = (tail + bytes(buf[:n]))[-200:] if n < 200 else bytes(buf[n - 200:n])
    s.close()
    last = tail.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
    if not last.startswith(b"+OK"):
        sys.exit(f"wire.py: the last reply is {last!r}, not +OK")
    return received


def stat(host: str, port: int, user: str, pw: str, ca: str) -> tuple[int, int]:
    ctx = ssl.create_default_context(cafile=ca)
    p = poplib.POP3_SSL(host, port, context=ctx, timeout=120)
    try:
        p.user(user)
        p.pass_(pw)
        return p.stat()
    finally:
        p.quit()


def rtt(host: str, port: int, user: str, pw: str, ca: str) -> str:
    import time
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    raw = socket.create_connection((host, port), timeout=30)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = ctx.wrap_socket(raw)
    f = s.makefile("rb")
    f.readline()
    s.sendall(f"USER {user}\r\nPASS {pw}\r\n".encode())
    f.readline()
    if not f.readline().startswith(b"+OK"):
        sys.exit("wire.py rtt: login failed")
    times = []
    for _ in range(10):
        t = time.perf_counter()
        s.sendall(b"NOOP\r\n")
        f.readline()
        times.append(time.perf_counter() - t)
    s.sendall(b"QUIT\r\n")
    f.readline()
    s.close()
    times.sort()
    return f"POP3 NOOP round trip from the namespace: {times[5] * 1000:.1f} ms (median of 10)"


def main(argv: list[str]) -> int:
    if len(argv) == 8 and argv[1] == "retr":
        n = retr(argv[2], int(argv[3]), argv[4], password(argv[5]), argv[6], int(argv[7]))
        print(f"wire.py: {n} octets", file=sys.stderr)
    elif len(argv) == 5 and argv[1] == "cmds":
        sys.stdout.buffer.write(commands(argv[2], password(argv[3]), int(argv[4])))
    elif len(argv) == 7 and argv[1] == "rtt":
        print(rtt(argv[2], int(argv[3]), argv[4], password(argv[5]), argv[6]))
    elif len(argv) == 7 and argv[1] == "stat":
        print(*stat(argv[2], int(argv[3]), argv[4], password(argv[5]), argv[6]))
    else:
        print(__doc__, file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
