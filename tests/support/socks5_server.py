# SPDX-License-Identifier: Apache-2.0
"""A small SOCKS5 proxy (RFC 1928: no authentication, CONNECT only) for the network tests.

    with Socks5Server() as proxy:            # on 127.0.0.1:<free port>
        ... mailwrench --proxy socks5h://127.0.0.1:{proxy.port} ...
        proxy.requests   # [{"atyp": 3, "host": "localhost", "port": 995}, ...] as received

Misbehaviours for the error paths (mode=):
    "relay"          connect to the requested host and port and relay both ways (the default)
    "refuse:N"       answer CONNECT with reply code N (5 = connection refused, 2 = not allowed)
    "stall"          accept and never answer the greeting
    "auth"           require authentication (answer the greeting with 0xFF: no acceptable method)
    "not-socks"      answer the greeting with an HTTP error, as a web proxy does
    "refuse-first:N" answer the first CONNECT with reply code N, relay the others
With login=("USER", "PASSWORD") it requires RFC 1929's username/password (method 2) and
records each attempt in `logins` as (user, accepted); `methods` holds each greeting's methods.
A name (ATYP 3) is resolved here, as a real proxy does; a name that does not resolve gets reply
4 (host unreachable). Only the standard library; threads, one per connection.
"""
from __future__ import annotations

import ipaddress
import socket
import struct
import threading

REPLY_OK = 0
REPLY_HOST_UNREACHABLE = 4
REPLY_REFUSED = 5


def _read_exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError("client closed")
        data += chunk
    return data


class Socks5Server:
    def __init__(self, mode: str = "relay", host: str = "127.0.0.1",
                 login: tuple[str, str] | None = None):
        self.mode = mode
        self.login = login
        self.logins: list[tuple[str, bool]] = []
        self.methods: list[list[int]] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests: list[dict] = []  # every CONNECT request as received
        self.connections = 0
        self.errors: list[str] = []
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self.close()

    def close(self) -> None:
        self._stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self._lock:
            for s in self._held:
                try:
                    s.close()
                except OSError:
                    pass

    def _hold(self, s: socket.socket) -> None:
        with self._lock:
            self._held.append(s)

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._hold(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _reply(self, conn: socket.socket, code: int) -> None:
        conn.sendall(bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.mode == "stall":
                conn.recv(1024)
                threading.Event().wait(120)
                return
            version, count = _read_exactly(conn, 2)
            methods = _read_exactly(conn, count)
            if self.mode == "not-socks":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                return
            if version != 5:
                self.errors.append(f"greeting version {version}")
                return
            self.methods.append(list(methods))
            if self.login is not None:
                if 2 not in methods:
                    conn.sendall(b"\x05\xff")
                    return
                conn.sendall(b"\x05\x02")
                ver, ulen = _read_exactly(conn, 2)
                user = _read_exactly(conn, ulen).decode("utf-8", "replace")
                password = _read_exactly(conn, _read_exactly(conn, 1)[0]).decode("utf-8", "replace")
                accepted = ver == 1 and (user, password) == self.login
                self.logins.append((user, accepted))
                conn.sendall(b"\x01\x00" if accepted else b"\x01\x01")
                if not accepted:
                    return
            elif self.mode == "auth" or 0 not in methods:
                conn.sendall(b"\x05\xff")
                return
            else:
                conn.sendall(b"\x05\x00")
            ver, cmd, _rsv, atyp = _read_exactly(conn, 4)
            if atyp == 1:
                host = str(ipaddress.IPv4Address(_read_exactly(conn, 4)))
            elif atyp == 4:
                host = str(ipaddress.IPv6Address(_read_exactly(conn, 16)))
            elif atyp == 3:
                host = _read_exactly(conn, _read_exactly(conn, 1)[0]).decode("ascii", "replace")
            else:
                self.errors.append(f"address type {atyp}")
                self._reply(conn, 8)
                return
            (port,) = struct.unpack("!H", _read_exactly(conn, 2))
            self.requests.append({"version": ver, "command": cmd, "atyp": atyp, "host": host,
                                  "port": port})
            if self.mode.startswith("refuse:"):
                self._reply(conn, int(self.mode.split(":", 1)[1]))
                return
            if self.mode.startswith("refuse-first:") and len(self.requests) == 1:
                self._reply(conn, int(self.mode.split(":", 1)[1]))
                return
            try:
                upstream = socket.create_connection((host, port), timeout=10)
            except socket.gaierror:
                self._reply(conn, REPLY_HOST_UNREACHABLE)
                return
            except OSError:
                self._reply(conn, REPLY_REFUSED)
                return
            upstream.settimeout(None)
            self._hold(upstream)
            self._reply(conn, REPLY_OK)
            threading.Thread(target=self._pump, args=(upstream, conn), daemon=True).start()
            self._pump(conn, upstream)
        except (EOFError, OSError, ValueError) as e:
            if not self._stop:
                self.errors.append(str(e))
        finally:
            if self.mode != "stall":
                try:
                    conn.close()
                except OSError:
                    pass

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
