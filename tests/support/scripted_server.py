# SPDX-License-Identifier: Apache-2.0
"""A scripted POP3/SMTP server for tests (Python 3 standard library only).

It listens on a free loopback port, plain or with implicit TLS, and answers every line a client
sends by the first rule whose regular expression matches it; lines no rule matches go to a
fallback (a POP3 mailbox, say) or get the `unexpected` reply. A rule's replies are bytes to send
(at once, in pieces, slowly), or: close the connection, stall (hold it open, never read or send
again), ignore (keep reading and recording, never answer), start TLS, pause. Every line received
is recorded, so a test can assert "no PASS/AUTH was ever sent" and "no DELE, no QUIT".

    srv = ScriptedServer([
        on(r"CAPA", multiline("+OK", ["USER", "UIDL"])),
        on(r"USER \\S+", "+OK"),
        on(r"PASS .*", close()),                 # hang up after PASS
    ], greeting="+OK ready")
    ... mailwrench -H 127.0.0.1 -p srv.port --tls none --allow-plaintext ...
    srv.settle(); assert "DELE" not in srv.verbs()

    box = Pop3Mailbox([b"From: a@b\\n\\nhi\\n"])  # a POP3 server with a mailbox, as a fallback:
    ScriptedServer([on(r"RETR 1", send(b"+OK\\r\\nFrom: a", close()))], fallback=box)

A rule is used once unless times= says otherwise (None: any number of times); the rules and
their counters are shared by all connections of the server. Replies given as str get CRLF
appended unless they end with one; bytes are sent exactly as given.

TLS: pass tls_context (see tls_certs.TestCerts.server_context) and implicit_tls=True for
POP3S/SMTPS, or use the start_tls() action in a rule for STLS/STARTTLS.

FakePop3 (the scripted mailbox server mwtest.py has always offered) is defined here on top of
these pieces; mwtest.FakePop3 is this class.
"""
from __future__ import annotations

import re
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Union

# --------------------------------------------------------------------------- actions


class Action:
    """Something the server does in reply to a line."""


@dataclass
class Send(Action):
    """Send data; with chunk, in pieces of that many octets with delay seconds between them."""
    data: bytes
    chunk: int | None = None
    delay: float = 0.0


@dataclass
class Corked(Action):
    """Send each part with a write of its own (over TLS: a record of its own), corked
    (TCP_CORK) so that they leave together: the client finds the later parts already there
    when it has read the first."""
    parts: list


@dataclass
class Close(Action):
    """Shut the connection down (both directions) and end the session."""


@dataclass
class Stall(Action):
    """Never read or send again; hold the connection open until the server is closed."""


@dataclass
class Ignore(Action):
    """Keep reading and recording lines, never answer again (until the client hangs up)."""


@dataclass
class StartTls(Action):
    """Upgrade the connection to TLS now (server side of STLS / STARTTLS)."""


@dataclass
class Pause(Action):
    seconds: float


Reply = Union[str, bytes, Action, Iterable["Reply"]]


def _actions(reply: Reply) -> list[Action]:
    if isinstance(reply, Action):
        return [reply]
    if isinstance(reply, str):
        data = reply.encode("utf-8")
        return [Send(data if data.endswith(b"\r\n") else data + b"\r\n")]
    if isinstance(reply, (bytes, bytearray)):
        return [Send(bytes(reply))]
    out: list[Action] = []
    for r in reply:
        out += _actions(r)
    return out


def send(*replies: Reply) -> list[Action]:
    """The replies as actions (str: CRLF appended unless present; bytes: exactly)."""
    return _actions(list(replies))


def close() -> Close:
    return Close()


def stall() -> Stall:
    return Stall()


def ignore() -> Ignore:
    return Ignore()


def start_tls() -> StartTls:
    return StartTls()


def pause(seconds: float) -> Pause:
    return Pause(seconds)


def corked(*parts: "str | bytes") -> Corked:
    """The parts (str: CRLF appended unless present) in separate writes that leave together."""
    return Corked([p if isinstance(p, bytes) else (p if p.endswith("\r\n") else p + "\r\n").encode()
                   for p in parts])


def trickle(data: "str | bytes", per_octet: float = 1.0, chunk: int = 1) -> Send:
    """data sent `chunk` octets at a time, `per_octet` seconds apart (a server that trickles)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return Send(data, chunk=chunk, delay=per_octet)


def multiline(status: str, lines: Iterable["str | bytes"], terminate: bool = True) -> bytes:
    """A POP3 multi-line reply: the status line, the lines dot-stuffed, the terminating '.'."""
    out = [status.encode() if isinstance(status, str) else status]
    for l in lines:
        b = l.encode("utf-8") if isinstance(l, str) else l
        out.append(b"." + b if b.startswith(b".") else b)
    if terminate:
        out.append(b".")
    return b"".join(l + b"\r\n" for l in out)


def smtp_reply(code: "int | str", *lines: str) -> bytes:
    """An SMTP reply: 'code-line' for all but the last line, 'code line' for the last."""
    lines = lines or ("",)
    return b"".join(f"{code}{'-' if i < len(lines) - 1 else ' '}{l}\r\n".encode()
                    for i, l in enumerate(lines))


# --------------------------------------------------------------------------- rules


@dataclass
class Rule:
    pattern: re.Pattern
    actions: list[Action]
    times: int | None = 1
    used: int = 0

    def available(self) -> bool:
        return self.times is None or self.used < self.times


def on(regex: str, *replies: Reply, times: int | None = 1) -> Rule:
    """A rule: a received line (without CRLF) that fully matches regex (case-insensitive) is
    answered with the replies. times=None: any number of times."""
    return Rule(re.compile(regex, re.I | re.S), _actions(list(replies)), times)


# --------------------------------------------------------------------------- the server


class _Session:
    def __init__(self, server: "ScriptedServer", sock: socket.socket, number: int):
        self.server, self.sock, self.number = server, sock, number
        self.buf = b""
        self.lines: list[str] = []
        self.state = "running"        # running | parked (stalled) | done
        self.handlers: list = []

    # ---- I/O
    def readline(self) -> bytes:
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLError, OSError):
                chunk = b""
            if not chunk:
                rest, self.buf = self.buf, b""
                return rest
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def peer_closed(self) -> bool:
        """True when the client has hung up (for slow sends, which would otherwise go on
        writing into the void until the kernel reports it)."""
        if isinstance(self.sock, ssl.SSLSocket):
            return False
        try:
            r, _, _ = select.select([self.sock], [], [], 0)
            return bool(r) and self.sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def record(self, raw: bytes):
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        with self.server._lock:
            self.lines.append(text)
            self.server.received.append(text)
        return text

    def perform(self, actions: list[Action]) -> bool:
        """Runs actions; False when the session is over."""
        for a in actions:
            if self.server._closed:
                return False
            if isinstance(a, Send):
                if a.chunk is None:
                    self.sock.sendall(a.data)
                else:
                    for i in range(0, len(a.data), a.chunk):
                        if self.server._closed or (i and self.peer_closed()):
                            return False
                        if i:
                            time.sleep(a.delay)
                        self.sock.sendall(a.data[i:i + a.chunk])
            elif isinstance(a, Corked):
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                try:
                    for part in a.parts:
                        self.sock.sendall(part)
                finally:
                    self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
            elif isinstance(a, Pause):
                end = time.monotonic() + a.seconds
                while time.monotonic() < end and not self.server._closed:
                    time.sleep(min(0.05, max(0.0, end - time.monotonic())))
            elif isinstance(a, Close):
                try:
                    self.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return False
            elif isinstance(a, Stall):
                self.state = "parked"
                while not self.server._closed:
                    time.sleep(0.05)
                return False
            elif isinstance(a, Ignore):
                while True:
                    raw = self.readline()
                    if not raw:
                        return False
                    self.record(raw)
            elif isinstance(a, StartTls):
                ctx = self.server.tls_context
                if ctx is None:
                    raise RuntimeError("start_tls() needs a ScriptedServer with a tls_context")
                if self.buf:
                    self.server._note(f"connection {self.number}: {len(self.buf)} octets arrived "
                                      "before the TLS handshake (kept as plain text)")
                self.sock = ctx.wrap_socket(self.sock, server_side=True)
                self.server._note_tls(self.number)
            else:
                raise TypeError(f"unknown action {a!r}")
        return True

    # ---- the session
    def run(self):
        srv = self.server
        try:
            self.sock.settimeout(srv.read_timeout)
            if srv.implicit_tls:
                self.sock = srv.tls_context.wrap_socket(self.sock, server_side=True)
                srv._note_tls(self.number)
            fallbacks = srv.fallback if isinstance(srv.fallback, (list, tuple)) else \
                ([srv.fallback] if srv.fallback is not None else [])
            self.handlers = [f.session() if hasattr(f, "session") else f for f in fallbacks]
            if not self.perform(srv.greeting):
                return
            while not srv._closed:
                raw = self.readline()
                if not raw:
                    return
                line = self.record(raw)
                actions = None
                # A handler in the middle of something (a SASL exchange, SMTP DATA) takes every
                # line itself, before any rule sees it.
                busy = [h for h in self.handlers if getattr(h, "busy", False)]
                if not busy:
                    actions = srv._match(line)
                for h in (busy or self.handlers):
                    if actions is not None:
                        break
                    r = h(line)
                    actions = None if r is None else _actions(r)
                if actions is None:
                    with srv._lock:
                        srv.unexpected.append(line)
                    actions = srv.unexpected_reply
                if not self.perform(actions):
                    return
        except (ssl.SSLError, OSError) as e:
            srv._note(f"connection {self.number}: {type(e).__name__}: {e}")
        finally:
            self.state = "done"
            try:
                self.sock.close()
            except OSError:
                pass


class ScriptedServer:
    """A scripted line-based server on host:<free port> (see the module documentation).
      rules           list of on(...) rules, tried in order (the first available match answers)
      greeting        what to send on connect (str/bytes/actions); None: nothing at all
      fallback        a handler for lines no rule matches: an object with .session() giving a
                      per-connection callable, or such a callable; it returns replies or None
                      (not mine). A list: tried in order. A handler whose attribute `busy` is
                      true (in a SASL exchange, in SMTP DATA) gets every line before any rule.
      unexpected      the reply to a line nothing matches (default "-ERR unexpected command")
      tls_context     a server ssl.SSLContext, for implicit_tls=True or the start_tls() action
    Recorded: .received (every line, all connections, without CRLF), .sessions (lines per
    connection), .unexpected (lines nothing matched), .connections, .tls_connections, .notes
    (session errors: TLS handshakes the client aborted, resets)."""

    def __init__(self, rules: Iterable[Rule] = (), *, greeting: Reply | None = "+OK scripted POP3 server ready",
                 fallback=None, unexpected: Reply = "-ERR unexpected command",
                 tls_context: ssl.SSLContext | None = None, implicit_tls: bool = False,
                 host: str = "127.0.0.1", port: int = 0, read_timeout: float = 60.0):
        self.rules = [Rule(r.pattern, r.actions, r.times) for r in rules]  # own counters
        self.greeting = _actions(greeting) if greeting is not None else []
        self.fallback = fallback
        self.unexpected_reply = _actions(unexpected)
        self.tls_context, self.implicit_tls = tls_context, implicit_tls
        if implicit_tls and tls_context is None:
            raise ValueError("implicit_tls needs a tls_context")
        self.read_timeout = read_timeout
        self.received: list[str] = []
        self.unexpected: list[str] = []
        self.notes: list[str] = []
        self.connections = 0
        self.tls_connections = 0
        self._sessions: list[_Session] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.host, self.port = self.sock.getsockname()[:2]
        threading.Thread(target=self._accept, daemon=True).start()

    # ---- internals
    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self.connections += 1
                s = _Session(self, conn, self.connections)
                self._sessions.append(s)
            t = threading.Thread(target=s.run, daemon=True)
            self._threads.append(t)
            t.start()

    def _match(self, line: str) -> list[Action] | None:
        with self._lock:
            for r in self.rules:
                if r.available() and r.pattern.fullmatch(line):
                    r.used += 1
                    return r.actions
        return None

    def _note(self, text: str):
        with self._lock:
            self.notes.append(text)

    def _note_tls(self, number: int):
        with self._lock:
            self.tls_connections += 1

    # ---- for tests
    @property
    def sessions(self) -> list[list[str]]:
        with self._lock:
            return [list(s.lines) for s in self._sessions]

    def verbs(self) -> list[str]:
        """The first word of every line received, upper-cased."""
        with self._lock:
            return [l.split(" ", 1)[0].upper() for l in self.received]

    def saw(self, regex: str) -> list[str]:
        """Received lines that fully match regex (case-insensitive)."""
        p = re.compile(regex, re.I | re.S)
        with self._lock:
            return [l for l in self.received if p.fullmatch(l)]

    def settle(self, timeout: float = 5.0):
        """Waits until every session has ended or is parked (stalled): call it after the client
        exited and before looking at what was received."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if all(s.state != "running" for s in self._sessions):
                    return
            time.sleep(0.02)

    def close(self):
        self._closed = True
        try:
            # Wakes the accept() of the listening thread, so the port is free at once (a test may
            # open a server on the same port again: a --new state belongs to one host and port).
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        with self._lock:
            sessions = list(self._sessions)
        for s in sessions:
            try:
                s.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


# --------------------------------------------------------------------------- a POP3 mailbox


def pop3_wire(message: bytes) -> bytes:
    """The RETR payload of a message: CRLF line endings, dot-stuffed (without the final '.')."""
    lines = message.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)


class Pop3Mailbox:
    """A POP3 server's side of a maildrop, as a ScriptedServer fallback: CAPA, USER/PASS (any),
    STAT, LIST [n], UIDL [n], TOP n k, RETR n, DELE n, RSET, NOOP, QUIT. `messages` are bytes with
    LF line endings (sent as CRLF, dot-stuffed). list_sizes={n: octets} makes LIST lie about n.
    quit_reply is the reply to QUIT (the connection is closed after it).
    .committed_deletes: the numbers deleted by a QUIT answered with +OK (per session, in order)."""

    def __init__(self, messages: list[bytes], *, uids: list[str] | None = None,
                 list_sizes: dict[int, int] | None = None,
                 capa: Iterable[str] = ("UIDL", "TOP", "USER", "PIPELINING"), quit_reply: str = "+OK bye"):
        self.messages = list(messages)
        self.quit_reply = quit_reply
        self.uids = list(uids) if uids is not None else [f"fake-uid-{i + 1:04d}" for i in range(len(messages))]
        self.list_sizes = dict(list_sizes or {})
        self.capa = list(capa)
        self.committed_deletes: list[int] = []
        self._lock = threading.Lock()

    wire = staticmethod(pop3_wire)

    def size(self, k: int) -> int:
        return self.list_sizes.get(k, len(pop3_wire(self.messages[k - 1])))

    def session(self) -> Callable[[str], Reply | None]:
        marked: set[int] = set()
        n = len(self.messages)

        def number(arg: str) -> int | None:
            try:
                k = int(arg)
            except ValueError:
                return None
            return k if 1 <= k <= n and k not in marked else None

        def handle(line: str) -> Reply | None:
            verb, _, arg = line.partition(" ")
            verb, arg = verb.upper(), arg.strip()
            if verb == "CAPA":
                return multiline("+OK capability list follows", self.capa)
            if verb in ("USER", "PASS", "NOOP", "APOP"):
                return "+OK"
            if verb == "RSET":
                marked.clear()
                return "+OK"
            if verb == "STAT":
                live = [i for i in range(1, n + 1) if i not in marked]
                return f"+OK {len(live)} {sum(len(pop3_wire(self.messages[i - 1])) for i in live)}"
            if verb in ("LIST", "UIDL"):
                value = (lambda i: self.size(i)) if verb == "LIST" else (lambda i: self.uids[i - 1])
                if arg:
                    k = number(arg)
                    return "-ERR no such message" if k is None else f"+OK {k} {value(k)}"
                return multiline("+OK", [f"{i} {value(i)}" for i in range(1, n + 1) if i not in marked])
            if verb == "TOP":
                parts = arg.split()
                k = number(parts[0]) if parts else None
                if k is None or len(parts) != 2 or not parts[1].isdigit():
                    return "-ERR no such message"
                head, _, body = self.messages[k - 1].partition(b"\n\n")
                body_lines = body.split(b"\n")
                if body_lines and body_lines[-1] == b"":
                    body_lines.pop()
                text = head + b"\n\n" + b"".join(l + b"\n" for l in body_lines[:int(parts[1])])
                return b"+OK\r\n" + pop3_wire(text) + b".\r\n"
            if verb == "RETR":
                k = number(arg)
                if k is None:
                    return "-ERR no such message"
                body = pop3_wire(self.messages[k - 1])
                return f"+OK {len(body)} octets\r\n".encode() + body + b".\r\n"
            if verb == "DELE":
                k = number(arg)
                if k is None:
                    return "-ERR no such message"
                marked.add(k)
                return "+OK marked"
            if verb == "QUIT":
                if self.quit_reply.startswith("+OK"):
                    with self._lock:
                        self.committed_deletes += sorted(marked)
                return [self.quit_reply, Close()]
            return None

        return handle


class FakePop3(ScriptedServer):
    """A scripted POP3 server with a mailbox, plain TCP on 127.0.0.1:<free port> (use it with
    --tls none --allow-plaintext; conn() gives these options): greeting, CAPA (UIDL, TOP, USER,
    PIPELINING), USER/PASS (any password), STAT, LIST, UIDL, TOP, RETR, DELE, RSET, NOOP, QUIT.
    `messages` are the bytes of each message with LF line endings (sent as CRLF, dot-stuffed).
    Misbehaviour on demand:
      cut_retr={n: octets}   RETR n sends "+OK" and the first `octets` octets of message n's wire
                             form, then closes the connection
      stall_retr=True        RETR is never answered (the connection stays open until close())
      quit_reply="-ERR ..."  the reply to QUIT; "close" closes the connection without a reply
      retr_error={n: "-ERR ..."}, dele_error={n: "-ERR ..."}   refuse RETR n / DELE n so
      list_sizes={n: octets} LIST n reports this size instead of the true one (RFC 1939 allows
                             LIST to be approximate; clients must trust the terminating ".")
      rules=[on(...), ...]   further scripted rules, tried before all of the above
    .received lists every command line in order; .committed_deletes the message numbers deleted
    by a QUIT answered with +OK (normally none of the interesting cases)."""

    def __init__(self, messages: list[bytes], *, cut_retr: dict[int, int] | None = None,
                 stall_retr: bool = False, quit_reply: str = "+OK bye",
                 uids: list[str] | None = None, retr_error: dict[int, str] | None = None,
                 dele_error: dict[int, str] | None = None, list_sizes: dict[int, int] | None = None,
                 rules: Iterable[Rule] = (), **server_options):
        self.mailbox = Pop3Mailbox(messages, uids=uids, list_sizes=list_sizes,
                                   quit_reply=quit_reply if quit_reply != "close" else "+OK bye")
        self.quit_reply = quit_reply
        all_rules = list(rules)
        for k, reply in (retr_error or {}).items():
            all_rules.append(on(rf"RETR 0*{k}", reply, times=None))
        for k, octets in (cut_retr or {}).items():
            body = pop3_wire(self.mailbox.messages[k - 1])
            all_rules.append(on(rf"RETR 0*{k}", f"+OK {len(body)} octets\r\n".encode() + body[:octets], Close(),
                                times=None))
        if stall_retr:
            all_rules.append(on(r"RETR .*", Stall(), times=None))
        for k, reply in (dele_error or {}).items():
            all_rules.append(on(rf"DELE 0*{k}", reply, times=None))
        if quit_reply == "close":
            all_rules.append(on(r"QUIT", Close(), times=None))
        server_options.setdefault("greeting", "+OK fake POP3 server ready")
        super().__init__(all_rules, fallback=self.mailbox, unexpected="-ERR unknown command", **server_options)

    wire = staticmethod(pop3_wire)

    @property
    def messages(self) -> list[bytes]:
        return self.mailbox.messages

    @property
    def uids(self) -> list[str]:
        return self.mailbox.uids

    @property
    def committed_deletes(self) -> list[int]:
        return self.mailbox.committed_deletes

    def conn(self, timeout: int = 10) -> list[str]:
        return ["-H", "127.0.0.1", "-p", str(self.port), "--tls", "none", "--allow-plaintext",
                "-u", "fake", "--timeout", str(timeout)]
