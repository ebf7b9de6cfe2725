#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""send against the real Postfix of postfix_fixture.py (and, where the wire itself must be seen,
against a scripted fake SMTP server), then the message read back from the Maildir Postfix
delivered into and over POP3 with mailwrench.

Every scenario sends to send users of its own (s01..s60, claimed in turn under a lock), never to
alice, bob or carol, whose mailboxes the other scenarios check exactly. Messages are found by a
token in their Subject and by the Message-ID mailwrench reports. Postfix removes Bcc headers
itself, so "no Bcc header" is checked on what mailwrench writes: --dry-run and a fake server.
Scenarios that use the port without STARTTLS hold a lock so that Postfix's log lines of that
port belong to them alone (they check that no AUTH and no MAIL was ever sent there).
"""
from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import email.utils
import fcntl
import hashlib
import json
import os
import re
import shlex
import socket
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mwtest as mw
from mwtest import check, eq, expect_ok, fail
import postfix_fixture as pfx

EX_PARTIAL, EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_UNAVAILABLE, EX_TEMPFAIL, EX_NOPERM = 1, 64, 65, 66, 69, 75, 77
JSON_KEYS = {"message_id", "from", "recipients", "accepted", "rejected", "data", "queue_id", "dry_run"}
RCPT_KEYS = {"address", "accepted", "code", "enhanced", "text"}
MSGID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")
BODY = ("Grüße aus Köln — ünïcödé ✓\n"
        ".\n"
        "..\n"
        ".leading dot\n"
        "..two leading dots\n"
        "middle . dot\n"
        "From the start of a line\n"
        "\n"
        "end\n")


# --------------------------------------------------------------------------- the fixture's users

@dataclass
class User:
    name: str
    password: str
    address: str
    maildir: Path


def setup(ctx) -> None:
    if "smtp_port" not in ctx.env or "send_users" not in ctx.env:
        raise mw.Skip("the Postfix fixture is not running ('integration: postfix_start' was skipped or failed)")
    known = {s for s, _ in mw._SECRETS}
    for name, u in ctx.env["send_users"].items():
        if u["password"] not in known:
            mw._SECRETS.append((u["password"], f"<password of {name}>"))
    mw._SECRETS.sort(key=lambda s: -len(s[0]))


def claim(ctx, n: int = 1) -> list[User]:
    """n send users no other scenario of this fixture run has had (taken in turn under a lock;
    after all 60 the first come round again, which is harmless: messages are found by token)."""
    users = ctx.env["send_users"]
    names = sorted(users)
    with open(ctx.dir / "postfix" / "send-users.claimed", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        k = int(f.read().strip() or 0)
        f.seek(0)
        f.truncate()
        f.write(str(k + n))
    picked = [names[(k + i) % len(names)] for i in range(n)]
    return [User(p, users[p]["password"], users[p]["address"], Path(users[p]["maildir"])) for p in picked]


def token(tag: str) -> str:
    return f"mwt-{tag}-{os.getpid()}-{os.urandom(4).hex()}"


# --------------------------------------------------------------------------- running send

def smtp_args(ctx, mode: str = "starttls", user: User | None = None, host: str | None = None,
              cacert: str | None = "ca", auth: str | None = None) -> list[str]:
    """Global options for the fixture's Postfix. mode: starttls (submission port), implicit
    (SMTPS), plain (--tls none on the port without STARTTLS)."""
    e = ctx.env
    port, tls = {"starttls": (e["smtp_port"], "starttls"), "implicit": (e["smtps_port"], "implicit"),
                 "plain": (e["smtp_plain_port"], "none")}[mode]
    args = ["-H", host or e["smtp_host"], "-p", str(port), "--tls", tls, "--timeout", "20"]
    if cacert == "ca":
        args += ["--cacert", e["ca"]]
    elif cacert:
        args += ["--cacert", cacert]
    if user:
        args += ["-u", user.name]
    if auth:
        args += ["--auth", auth]
    return args


def send(ctx, user: User | None, args: list[str], *, mode: str = "starttls", as_json: bool = True,
         verbose: bool = False, stdin: str | None = None, glob: list[str] | None = None,
         password: str | None = None, auth: str | None = None, env: dict | None = None) -> mw.Result:
    argv = smtp_args(ctx, mode, user, auth=auth) + (glob or []) + (["--json"] if as_json else []) \
        + (["-v"] if verbose else []) + ["send"] + args
    pw = password if password is not None else (user.password if user else None)
    return ctx.run(argv, password=pw, stdin=stdin, env=env)


def fake_args(port: int, extra: list[str] | None = None, tls: str = "none", timeout: int = 10) -> list[str]:
    return ["-H", "127.0.0.1", "-p", str(port), "--tls", tls, "--timeout", str(timeout)] + (extra or [])


# --------------------------------------------------------------------------- checking the result

def result_doc(res: mw.Result, what: str) -> dict:
    doc = res.json()
    check(isinstance(doc, dict), f"{what}: --json output is not an object", res)
    return doc


def check_json(res: mw.Result, what: str, *, frm: str, outcome: dict[str, tuple],
               data: tuple | None, dry_run: bool = False) -> dict:
    """The send --json document: exactly the documented keys and types. outcome: address ->
    (accepted, code, enhanced or None) in the order given on the command line; data: (code,
    enhanced) of the reply to the message, or None when no message was sent."""
    doc = result_doc(res, what)
    eq(sorted(doc), sorted(JSON_KEYS), f"{what}: the keys of the --json document", res)
    check(isinstance(doc["message_id"], str) and MSGID.match(doc["message_id"]),
          f"{what}: message_id {doc['message_id']!r} is not <local@domain>", res)
    eq(doc["from"], frm, f"{what}: from", res)
    eq(doc["dry_run"], dry_run, f"{what}: dry_run", res)
    rcpts = doc["recipients"]
    check(isinstance(rcpts, list) and all(isinstance(r, dict) for r in rcpts),
          f"{what}: recipients must be an array of objects", res)
    for r in rcpts:
        eq(sorted(r), sorted(RCPT_KEYS), f"{what}: the keys of a recipient", res)
        check(isinstance(r["accepted"], bool) and isinstance(r["code"], int) and isinstance(r["text"], str)
              and (r["enhanced"] is None or isinstance(r["enhanced"], str)),
              f"{what}: recipient {r.get('address')}: types (accepted bool, code int, enhanced string|null, "
              "text string)", res)
    eq([r["address"] for r in rcpts], list(outcome), f"{what}: recipient addresses, in order", res)
    for r in rcpts:
        acc, code, enh = outcome[r["address"]]
        eq((r["accepted"], r["code"]), (acc, code), f"{what}: accepted/code of {r['address']}", res)
        if enh:
            eq(r["enhanced"], enh, f"{what}: enhanced status of {r['address']}", res)
        if not acc:
            check(r["text"].strip(), f"{what}: the server's text for {r['address']} is missing", res)
    eq((doc["accepted"], doc["rejected"]),
       (sum(1 for o in outcome.values() if o[0]), sum(1 for o in outcome.values() if not o[0])),
       f"{what}: accepted/rejected counts", res)
    if data is None:
        eq(doc["data"], None, f"{what}: data (no message was sent)", res)
        eq(doc["queue_id"], None, f"{what}: queue_id (no message was sent)", res)
    else:
        check(isinstance(doc["data"], dict), f"{what}: data must be an object (the reply to the message)", res)
        eq(sorted(doc["data"]), ["code", "enhanced", "text"], f"{what}: the keys of data", res)
        eq(doc["data"]["code"], data[0], f"{what}: data.code", res)
        if data[1]:
            eq(doc["data"]["enhanced"], data[1], f"{what}: data.enhanced", res)
        if data[0] == 250 and not dry_run:
            check(isinstance(doc["queue_id"], str) and re.fullmatch(r"[0-9A-Za-z]+", doc["queue_id"] or ""),
                  f"{what}: queue_id {doc['queue_id']!r}: Postfix said 'queued as <ID>'", res)
    return doc


def check_plain(res: mw.Result, what: str, outcome: dict[str, tuple], *, queue_id: str | None = None,
                message_id: str | None = None) -> None:
    """Plain output: one line per recipient 'accepted|rejected ADDRESS CODE ENHANCED TEXT', the
    queue id and the Message-ID."""
    out = res.stdout
    for addr, (acc, code, enh) in outcome.items():
        pat = rf"^\s*{'accepted' if acc else 'rejected'}\s+<?{re.escape(addr)}>?\s+{code}\b" + (
            rf"\s+{re.escape(enh)}\b" if enh else "")
        check(re.search(pat, out, re.M | re.I), f"{what}: no line /{pat}/ in the plain output", res)
    if queue_id:
        check(re.search(rf"\b{re.escape(queue_id)}\b", out), f"{what}: the queue id {queue_id} is not shown", res)
    if message_id:
        check(message_id in out, f"{what}: the Message-ID {message_id} is not shown", res)


def no_secrets(res: mw.Result, what: str, user: str, password: str) -> None:
    for text, stream in ((res.stdout, "stdout"), (res.stderr, "stderr")):
        found = mw.transcript_has_secret(text, user, password)
        check(not found, f"{what}: {stream} contains {', '.join(found)}", res)


# --------------------------------------------------------------------------- the delivered message

def delivered(user: User, needle: str, res: mw.Result | None = None, what: str = "",
              timeout: float = pfx.DELIVERY_TIMEOUT) -> bytes:
    for _ in range(5):
        p = pfx.find_delivered(user.maildir, needle.encode(), timeout)
        if p is None:
            fail(f"{what}: no message with {needle!r} arrived in {user.address}'s Maildir within "
                 f"{timeout:.0f} s", res)
        try:
            return p.read_bytes()
        except FileNotFoundError:  # renamed new/ -> cur/ in between
            continue
    fail(f"{what}: the delivered file keeps moving away", res)


def not_delivered(user: User, needle: str, what: str, res: mw.Result | None = None, wait: float = 3.0):
    if pfx.find_delivered(user.maildir, needle.encode(), wait):
        fail(f"{what}: a message with {needle!r} arrived in {user.address}'s Maildir, but it should not", res)


def pop3_copy(ctx, user: User, mid: str, maildir_bytes: bytes, what: str) -> bytes:
    """The message as `mailwrench fetch N -o -` reads it over POP3S; it must be the Maildir file."""
    import poplib
    p = poplib.POP3(ctx.env["ip"], ctx.env["pop3_port"], timeout=20)
    try:
        p.user(user.name)
        p.pass_(user.password)
        number = None
        for n in range(1, p.stat()[0] + 1):
            head = b"\n".join(p.top(n, 0)[1])
            if re.search(rb"^Message-ID:\s*" + re.escape(mid.encode()), head, re.M | re.I):
                number = n
        p.quit()
    finally:
        p.close()
    check(number is not None, f"{what}: POP3 (poplib) does not show {mid} to {user.name}")
    res, out = ctx.run_raw(ctx.conn("pop3s", user=user.name) + ["fetch", str(number), "-o", "-"],
                           password=user.password)
    expect_ok(res, f"{what}: mailwrench fetch {number} -o - (reading the sent message back over POP3)")
    if out != maildir_bytes:
        fail(f"{what}: `fetch {number} -o -` gave {len(out)} bytes that differ from the {len(maildir_bytes)} "
             f"bytes of the Maildir file (first difference at byte "
             f"{next((i for i, (a, b) in enumerate(zip(out, maildir_bytes)) if a != b), min(len(out), len(maildir_bytes)))})",
             res)
    return out


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def added_by_postfix(data: bytes) -> tuple[bytes, bytes]:
    """(the trace headers Postfix and virtual(8) prepend, the message as the client sent it)."""
    lines = data.split(b"\n")
    i = 0
    while i < len(lines) and (re.match(rb"(Return-Path|X-Original-To|Delivered-To|Received):", lines[i])
                              or (i > 0 and lines[i][:1] in (b" ", b"\t"))):
        i += 1
    return b"\n".join(lines[:i]) + b"\n", b"\n".join(lines[i:])


def header_section(data: bytes) -> bytes:
    return data.split(b"\n\n", 1)[0]


def norm(text: str) -> str:
    return text.replace("\r\n", "\n").rstrip("\n")


def check_message(data: bytes, what: str, res: mw.Result, *, frm: str, to: list[str], cc: list[str] = (),
                  subject: str, body: str, mid: str, attachments: dict[str, tuple[bytes, str]] | None = None,
                  headers: dict[str, str] | None = None, auth_user: str | None = None) -> email.message.EmailMessage:
    trace, sent = added_by_postfix(data)
    msg = parse(data)
    head = header_section(sent)
    check(all(b < 0x80 for b in head),
          f"{what}: the header section is not 7-bit (non-ASCII headers must be RFC 2047 encoded): "
          f"{[l for l in head.split(chr(10).encode()) if any(b >= 0x80 for b in l)][:3]!r}", res)
    for name in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
        eq(len(msg.get_all(name, [])), 1, f"{what}: number of {name} headers", res)
    check(msg.get_all("Bcc") is None, f"{what}: the delivered message has a Bcc header", res)
    eq([a.addr_spec for a in msg["From"].addresses], [frm], f"{what}: From", res)
    eq([a.addr_spec for a in msg["To"].addresses], list(to), f"{what}: To", res)
    if cc:
        eq([a.addr_spec for a in msg["Cc"].addresses], list(cc), f"{what}: Cc", res)
    else:
        check(msg["Cc"] is None, f"{what}: a Cc header appeared", res)
    eq(str(msg["Subject"]), subject, f"{what}: Subject (RFC 2047 decoded)", res)
    eq(msg["Message-ID"].strip(), mid, f"{what}: Message-ID (the one mailwrench reported)", res)
    eq(msg["MIME-Version"].strip(), "1.0", f"{what}: MIME-Version", res)
    try:
        date = email.utils.parsedate_to_datetime(str(msg["Date"]))
    except (TypeError, ValueError):
        date = None
    check(date is not None and date.tzinfo is not None, f"{what}: Date {msg['Date']!r} is not an RFC 5322 date", res)
    skew = abs((dt.datetime.now(dt.timezone.utc) - date).total_seconds())
    check(skew < 600, f"{what}: Date {msg['Date']!r} is {skew:.0f} s away from now", res)
    for name, value in (headers or {}).items():
        eq(str(msg[name]), value, f"{what}: header {name}", res)
    if auth_user:
        check(re.search(rf"\(Authenticated sender: {re.escape(auth_user)}\)", trace.decode(errors="replace")),
              f"{what}: Postfix's Received header does not say 'Authenticated sender: {auth_user}'", res)
    part = msg.get_body(preferencelist=("plain",))
    check(part is not None, f"{what}: no text/plain body part", res)
    eq(norm(part.get_content()), norm(body), f"{what}: the body text", res)
    got = {}
    for att in msg.iter_attachments():
        got[att.get_filename()] = (att.get_payload(decode=True), att.get_content_type())
    want = attachments or {}
    eq(sorted(got), sorted(want), f"{what}: attachment file names", res)
    for name, (content, ctype) in want.items():
        eq(got[name][1], ctype, f"{what}: content type of attachment {name}", res)
        if got[name][0] != content:
            fail(f"{what}: attachment {name} decodes to {len(got[name][0])} bytes (sha256 "
                 f"{hashlib.sha256(got[name][0]).hexdigest()[:16]}), sent {len(content)} (sha256 "
                 f"{hashlib.sha256(content).hexdigest()[:16]})", res)
    if want:
        eq(msg.get_content_type(), "multipart/mixed", f"{what}: content type with attachments", res)
    return msg


def log_since(ctx, offset: int) -> list[str]:
    return pfx.log_lines(ctx.dir, offset)[0]


def wait_log(ctx, offset: int, pattern: str, what: str, res: mw.Result | None = None, timeout: float = 10) -> re.Match:
    deadline = time.monotonic() + timeout
    while True:
        for line in log_since(ctx, offset):
            m = re.search(pattern, line)
            if m:
                return m
        if time.monotonic() > deadline:
            fail(f"{what}: no line /{pattern}/ in Postfix's log within {timeout:.0f} s:\n"
                 + "\n".join(log_since(ctx, offset)[-15:]), res)
        time.sleep(0.1)


@contextmanager
def plain_port(ctx):
    """Exclusive use of the port without STARTTLS, so that its log lines are ours alone."""
    with open(ctx.dir / "postfix" / "plain-port.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield pfx.log_offset(ctx.dir)


def plain_port_sessions(ctx, offset: int, res: mw.Result, what: str) -> list[str]:
    """The 'disconnect from' lines (with their per-command counts) of the sessions on the port
    without STARTTLS since offset; waits until every connect has its disconnect."""
    name = re.escape(ctx.env["postfix_log_names"]["smtp_plain_port"])
    deadline = time.monotonic() + 10
    while True:
        lines = log_since(ctx, offset)
        conns = [l for l in lines if re.search(rf"{name}/smtpd\[\d+\]: connect from", l)]
        discs = [l for l in lines if re.search(rf"{name}/smtpd\[\d+\]: disconnect from", l)]
        if conns and len(discs) >= len(conns):
            return discs
        if time.monotonic() > deadline:
            fail(f"{what}: Postfix did not log the session on the plain port ({len(conns)} connects, "
                 f"{len(discs)} disconnects):\n" + "\n".join(lines[-15:]), res)
        time.sleep(0.1)


# --------------------------------------------------------------------------- a scripted SMTP server

class FakeSmtp:
    """A scripted SMTP server on 127.0.0.1:<free port> (plain TCP; use --tls none or --tls
    starttls). Records every command line (.received) and every message as its raw wire bytes
    between DATA's 354 and the final '.' line (.data, still dot-stuffed, CRLF).
      greeting      the first reply ("554 ..." for a server that refuses service)
      ehlo          the EHLO keywords, or ehlo_reply to answer EHLO with one line instead
      starttls      None (not offered); "ok-garbage" (220, then bytes that are not TLS);
                    "refuse" (454); "close" (220, then the connection is closed)
      rcpt          address -> reply (default 250 2.1.5 Ok)
      mail_reply, final_reply, auth_reply as named."""

    def __init__(self, *, greeting: str = "220 fake.example ESMTP fake", ehlo: list[str] | None = None,
                 ehlo_reply: str | None = None, helo_reply: str = "250 fake.example",
                 starttls: str | None = None, rcpt: dict[str, str] | None = None,
                 mail_reply: str = "250 2.1.0 Ok", final_reply: str = "250 2.0.0 Ok: queued as FAKE12345",
                 auth_reply: str = "235 2.7.0 Authentication successful"):
        self.greeting, self.ehlo_reply, self.helo_reply = greeting, ehlo_reply, helo_reply
        self.ehlo = ehlo if ehlo is not None else ["PIPELINING", "SIZE 10240000", "8BITMIME",
                                                   "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN"]
        if starttls:
            self.ehlo = self.ehlo + ["STARTTLS"]
        self.starttls, self.rcpt = starttls, rcpt or {}
        self.mail_reply, self.final_reply, self.auth_reply = mail_reply, final_reply, auth_reply
        self.received: list[str] = []
        self.data: list[bytes] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._closed = False
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._socks.append(conn)
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket):
        def send(text: str):
            conn.sendall(text.encode() + b"\r\n")

        try:
            conn.settimeout(30)
            f = conn.makefile("rb")
            send(self.greeting)
            if not self.greeting.startswith("2"):
                for raw in f:  # a refusing server still answers QUIT
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    with self._lock:
                        self.received.append(line)
                    send("221 2.0.0 Bye" if line.upper().startswith("QUIT") else "503 5.5.1 no service")
                    if line.upper().startswith("QUIT"):
                        return
                return
            for raw in f:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._lock:
                    self.received.append(line)
                verb = line.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    if self.ehlo_reply:
                        send(self.ehlo_reply)
                    else:
                        lines = ["fake.example"] + self.ehlo
                        send("\r\n".join(f"250{'-' if i < len(lines) - 1 else ' '}{l}" for i, l in enumerate(lines)))
                elif verb == "HELO":
                    send(self.helo_reply)
                elif verb == "STARTTLS" and self.starttls:
                    if self.starttls == "refuse":
                        send("454 4.7.0 TLS not available due to local problem")
                        continue
                    send("220 2.0.0 Ready to start TLS")
                    if self.starttls == "close":
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                    conn.sendall(b"this is not TLS at all\r\n" * 4)
                    while not self._closed:  # whatever comes now is not SMTP: record it raw
                        chunk = conn.recv(4096)
                        if not chunk:
                            return
                        with self._lock:
                            self.received.append("<raw after STARTTLS> " + chunk.decode("latin-1"))
                elif verb == "AUTH":
                    parts = line.split()
                    mech = parts[1].upper() if len(parts) > 1 else ""
                    if mech == "PLAIN":
                        if len(parts) == 2:
                            send("334 ")
                            with self._lock:
                                self.received.append(f.readline().decode("utf-8", "replace").rstrip("\r\n"))
                        send(self.auth_reply)
                    elif mech == "LOGIN":
                        for prompt in ("334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6"):
                            if prompt.endswith("VXNlcm5hbWU6") and len(parts) > 2:
                                continue
                            send(prompt)
                            with self._lock:
                                self.received.append(f.readline().decode("utf-8", "replace").rstrip("\r\n"))
                        send(self.auth_reply)
                    else:
                        send("504 5.5.4 Unrecognized authentication type")
                elif verb == "MAIL":
                    send(self.mail_reply)
                elif verb == "RCPT":
                    m = re.search(r"<([^>]*)>", line)
                    send(self.rcpt.get(m.group(1) if m else "", "250 2.1.5 Ok"))
                elif verb == "DATA":
                    send("354 End data with <CR><LF>.<CR><LF>")
                    buf = b""
                    while True:
                        chunk = f.readline()
                        if not chunk:
                            return
                        if chunk == b".\r\n":
                            break
                        buf += chunk
                    with self._lock:
                        self.data.append(buf)
                    send(self.final_reply)
                elif verb in ("RSET", "NOOP"):
                    send("250 2.0.0 Ok")
                elif verb == "QUIT":
                    send("221 2.0.0 Bye")
                    return
                else:
                    send("502 5.5.2 Error: command not recognized")
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def verbs(self) -> list[str]:
        with self._lock:
            return [l.split(" ", 1)[0].upper() for l in self.received if not l.startswith("<raw")]

    def lines(self, verb: str) -> list[str]:
        with self._lock:
            return [l for l in self.received if l.split(" ", 1)[0].upper() == verb]

    def close(self):
        self._closed = True
        self.sock.close()
        with self._lock:
            for s in self._socks:
                try:
                    s.close()
                except OSError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


def unstuff(wire: bytes) -> bytes:
    """The message from DATA's wire bytes: dot-unstuffed, LF line endings."""
    lines = wire.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((l[1:] if l.startswith(b".") else l) + b"\n" for l in lines)


def check_wire(wire: bytes, what: str, res: mw.Result | None = None) -> None:
    """Every line ends in CRLF (no bare CR or LF) and every line starting with '.' is stuffed."""
    check(wire.endswith(b"\r\n"), f"{what}: the message on the wire does not end with CRLF", res)
    body = wire.replace(b"\r\n", b"")
    check(b"\r" not in body and b"\n" not in body, f"{what}: a bare CR or LF on the wire", res)
    for l in wire.split(b"\r\n"):
        if l.startswith(b".") and not l.startswith(b".."):
            fail(f"{what}: the line {l[:40]!r} starts with a single '.' on the wire (not dot-stuffed)", res)


# =========================================================================== scenarios

def sc(fn):
    """A scenario that needs the Postfix fixture."""
    def run(ctx, *a, **kw):
        setup(ctx)
        return fn(ctx, *a, **kw)
    run.__name__ = fn.__name__
    mw.add(fn.__name__, run)
    return fn


def fk(fn):
    """A scenario that needs no Postfix (a fake server, or no server at all)."""
    mw.add(fn.__name__, fn)
    return fn


def add(name: str, fn, *args):
    def run(ctx, *a):
        setup(ctx)
        return fn(ctx, *a)
    mw.add(name, run, *args)


def attachment_files(ctx, big: bool = False) -> dict[str, tuple[bytes, str]]:
    rnd = os.urandom(2_000_000 if big else 40_000)
    files = {
        "random.bin": (b"\r\n.\r\n" + rnd + b"\n.\n", "application/octet-stream"),
        "picture.png": (b"\x89PNG\r\n\x1a\n" + os.urandom(3000), "image/png"),
    }
    for name, (content, _) in files.items():
        (ctx.scratch / name).write_bytes(content)
    return files


def tls_auth(ctx, mode: str, mech: str):
    """send over STARTTLS or implicit TLS with one AUTH mechanism, -v and --json; then the message
    from the Maildir and over POP3: headers, UTF-8 subject and body with dot lines, attachments
    byte for byte, Postfix's record of the mechanism and of the queue id."""
    if mech != "auto" and mech not in ctx.env["smtp_mechanisms"]:
        raise mw.Skip(f"this Postfix/Dovecot does not offer {mech.upper()} ({ctx.env['smtp_mechanisms']})")
    sender, rcpt, copy = claim(ctx, 3)
    tok = token(f"{mode}-{mech}")
    subject = f"Grüße aus Köln: ein ziemlich langer Betreff, der gefaltet werden muss ✓ {tok}"
    files = attachment_files(ctx)
    off = pfx.log_offset(ctx.dir)
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--cc", copy.address,
                             "--subject", subject, "--body", BODY]
               + sum((["--attach", str(ctx.scratch / n)] for n in files), []),
               mode=mode, verbose=True, auth=None if mech == "auto" else mech)
    what = f"send over {mode} with AUTH {mech}"
    expect_ok(res, what)
    doc = check_json(res, what, frm=sender.address,
                     outcome={rcpt.address: (True, 250, "2.1.5"), copy.address: (True, 250, "2.1.5")},
                     data=(250, "2.0.0"))
    no_secrets(res, what, sender.name, sender.password)
    used = "scram-sha-256" if mech == "auto" else mech
    check(re.search(rf"\bAUTH\s+{re.escape(used)}\b", res.stderr, re.I),
          f"{what}: the -v transcript does not show AUTH {used.upper()}" +
          (" (auto should pick the strongest offered: SCRAM-SHA-256)" if mech == "auto" else ""), res)
    mid, qid = doc["message_id"], doc["queue_id"]
    wait_log(ctx, off, rf"\b{re.escape(qid)}: client=.*sasl_method={re.escape(used.upper())}, "
                       rf"sasl_username={re.escape(sender.name)}\b", f"{what}: Postfix's record of the AUTH", res)
    wait_log(ctx, off, rf"\b{re.escape(qid)}: message-id={re.escape(mid)}",
             f"{what}: the queue id mailwrench reported is Postfix's id of this message", res)
    data = delivered(rcpt, mid, res, what)
    check_message(data, what, res, frm=sender.address, to=[rcpt.address], cc=[copy.address], subject=subject,
                  body=BODY, mid=mid, attachments=files, auth_user=sender.name)
    pop3_copy(ctx, rcpt, mid, delivered(rcpt, mid, res, what), what)
    check_message(delivered(copy, mid, res, what), f"{what} (Cc copy)", res, frm=sender.address,
                  to=[rcpt.address], cc=[copy.address], subject=subject, body=BODY, mid=mid, attachments=files)


for _mode in ("starttls", "implicit"):
    for _mech in ("plain", "login", "cram-md5", "scram-sha-256", "auto"):
        add(f"{_mode}_auth_{_mech}", tls_auth, _mode, _mech)


@sc
def chunking_bdat(ctx):
    """--chunking: BDAT instead of DATA (Postfix offers CHUNKING); no dot-stuffing with BDAT, so
    the dot lines must arrive exactly as written, and so must an attachment."""
    sender, rcpt = claim(ctx, 2)
    tok = token("bdat")
    files = attachment_files(ctx)
    res = send(ctx, sender, ["--chunking", "--from", sender.address, "--to", rcpt.address, "--subject", tok,
                             "--body", BODY] + sum((["--attach", str(ctx.scratch / n)] for n in files), []),
               verbose=True)
    expect_ok(res, "send --chunking")
    check(re.search(r"\bBDAT\s+\d+", res.stderr) and not re.search(r"^\W*(C:\s*)?DATA\s*$", res.stderr, re.M),
          "send --chunking: the -v transcript does not show BDAT (instead of DATA)", res)
    check_message(delivered(rcpt, tok, res, "--chunking"), "--chunking", res, frm=sender.address, to=[rcpt.address],
                  subject=tok, body=BODY, mid=res.json()["message_id"], attachments=files, auth_user=sender.name)


def await_config(ctx, users: list[User]) -> Path:
    e = ctx.env
    return ctx.file("await-config", "".join(
        f"[account {u.name}]\nhost = {e['host']}\nport = {e['pop3s_port']}\ntls = implicit\nuser = {u.name}\n"
        f"cacert = {e['ca']}\npassword-command = printf '%s\\n' {shlex.quote(u.password)}\n\n" for u in users))


@sc
def await_and_purge(ctx):
    """send --await ACCOUNT --await-purge: waits for the message in that POP3 account, reports
    the time, number and UID, and deletes it there."""
    sender, rcpt = claim(ctx, 2)
    tok = token("await")
    cfg = await_config(ctx, [rcpt])
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x",
                             "--await", rcpt.name, "--await-timeout", "20", "--await-purge"],
               glob=["--config", str(cfg)])
    expect_ok(res, "send --await --await-purge")
    doc = result_doc(res, "send --await")
    eq(sorted(doc), sorted(JSON_KEYS | {"await"}), "send --await: the keys of the --json document", res)
    aw = doc["await"]
    check(isinstance(aw, dict), "send --await: await must be an object", res)
    eq(sorted(aw), ["account", "number", "purged", "seconds", "uid"], "send --await: the keys of await", res)
    eq((aw["account"], aw["purged"]), (rcpt.name, True), "send --await: account, purged", res)
    check(isinstance(aw["seconds"], (int, float)) and 0 <= aw["seconds"] < 20, f"await.seconds {aw['seconds']!r}", res)
    check(isinstance(aw["number"], int) and aw["number"] >= 1 and isinstance(aw["uid"], str) and aw["uid"],
          "send --await: number/uid", res)
    left = pop3_heads(ctx, rcpt)
    check(not any(doc["message_id"].encode() in h for _, h in left), "--await-purge: the message is still there", res)
    check(aw["uid"] not in [u for u, _ in left], f"--await-purge: UID {aw['uid']} is still listed", res)


def pop3_heads(ctx, user: User) -> list[tuple[str, bytes]]:
    """(UID, header section) of every message in a send user's POP3 mailbox now."""
    import poplib
    p = poplib.POP3(ctx.env["ip"], ctx.env["pop3_port"], timeout=20)
    try:
        p.user(user.name)
        p.pass_(user.password)
        heads = [b"\n".join(p.top(n, 0)[1]) for n in range(1, p.stat()[0] + 1)]
        uids = [l.split()[1].decode() for l in p.uidl()[1]]
        p.quit()
    finally:
        p.close()
    return list(zip(uids, heads))


@sc
def await_ignores_message_already_there(ctx):
    """A saved message sent again with --raw keeps its Message-ID: --await --await-purge must wait
    for the new copy and delete that one, not take the copy that was in the mailbox before the send
    for it (issue 11.4: it reported 'arrived' at once and deleted the old message)."""
    sender, rcpt = claim(ctx, 2)
    tok = token("resent")
    mid = f"<{tok}@mailwrench.test>"
    raw = (f"From: {sender.address}\nTo: {rcpt.address}\nSubject: {tok}\nMessage-ID: {mid}\n"
           "Date: Mon, 1 Jun 2020 12:00:00 +0000\n\nsaved, and sent again\n")
    cfg = await_config(ctx, [rcpt])
    res = send(ctx, sender, ["--raw", "--await", rcpt.name, "--await-timeout", "20"], stdin=raw,
               glob=["--config", str(cfg)])
    expect_ok(res, "first send --raw --await")
    first_uid = result_doc(res, "first send --raw --await")["await"]["uid"]
    res = send(ctx, sender, ["--raw", "--await", rcpt.name, "--await-timeout", "20", "--await-purge"],
               stdin=raw, glob=["--config", str(cfg)])
    expect_ok(res, "the same message again, send --raw --await --await-purge")
    aw = result_doc(res, "second send --raw --await --await-purge")["await"]
    check(aw["uid"] != first_uid, f"--await took the copy that was there before the send (UID {first_uid})", res)
    eq(aw["purged"], True, "second send: await.purged", res)
    left = [uid for uid, head in pop3_heads(ctx, rcpt) if mid.encode() in head]
    eq(left, [first_uid], "copies of the message in the mailbox after --await-purge (the old one stays)", res)


@sc
def await_timeout(ctx):
    """--await on an account the message never reaches: exit 75 after --await-timeout, and the
    --json document has an error member instead of await."""
    sender, rcpt, elsewhere = claim(ctx, 3)
    tok = token("awaitto")
    cfg = await_config(ctx, [elsewhere])
    t0 = time.monotonic()
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x",
                             "--await", elsewhere.name, "--await-timeout", "3"], glob=["--config", str(cfg)])
    check(res.rc == EX_TEMPFAIL, f"--await timing out: exit {res.rc}, expected {EX_TEMPFAIL}", res)
    check(3 <= time.monotonic() - t0 < 25, f"--await-timeout 3 took {time.monotonic() - t0:.1f} s", res)
    doc = result_doc(res, "--await timing out")
    check("await" not in doc and isinstance(doc.get("error"), dict) and doc["error"].get("exit_code") == EX_TEMPFAIL,
          "--await timing out: expected an error member (exit_code 75) and no await member", res)
    eq(doc.get("queue_id") is not None, True, "--await timing out: the send result is still reported", res)
    delivered(rcpt, tok, res, "--await timing out (the message itself was sent)")


@sc
def plain_output(ctx):
    """Without --json: a line per recipient, the queue id and the Message-ID."""
    sender, rcpt = claim(ctx, 2)
    tok = token("plain-out")
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "hi"],
               as_json=False)
    expect_ok(res, "send (plain output)")
    data = delivered(rcpt, tok, res, "send (plain output)")
    mid = str(parse(data)["Message-ID"]).strip()
    qid = re.search(rb"with ESMTPS?A? id ([0-9A-F]+)", data).group(1).decode()
    check_plain(res, "send (plain output)", {rcpt.address: (True, 250, "2.1.5")}, queue_id=qid, message_id=mid)


@sc
def hostile_password(ctx):
    """AUTH as carol, whose password is full of quoting-hostile characters (her mailbox is not
    touched: the message goes to a send user), with the password from --password-file."""
    rcpt, = claim(ctx, 1)
    tok = token("hostile")
    pwfile = ctx.file("pw", ctx.password("carol") + "\n")
    res = send(ctx, None, ["--from", "carol@lab.test", "--to", rcpt.address, "--subject", tok, "--body", "x"],
               glob=["-u", "carol", "--auth", "plain", "--password-file", str(pwfile)], verbose=True)
    expect_ok(res, "send as carol with --password-file")
    no_secrets(res, "send as carol", "carol", ctx.password("carol"))
    check_message(delivered(rcpt, tok, res, "send as carol"), "send as carol", res, frm="carol@lab.test",
                  to=[rcpt.address], subject=tok, body="x", mid=res.json()["message_id"], auth_user="carol")


@sc
def password_command(ctx):
    sender, rcpt = claim(ctx, 2)
    tok = token("pwcmd")
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x"],
               glob=["--password-command", f"printf '%s\\n' {shlex.quote(sender.password)}"], password="",
               env={"MAILWRENCH_PASSWORD": None}, auth="login")
    expect_ok(res, "send with --password-command")
    delivered(rcpt, tok, res, "send with --password-command")


@sc
def body_from_stdin(ctx):
    """--body-file -: the text comes from stdin (LF line endings), dot lines and UTF-8 intact."""
    sender, rcpt = claim(ctx, 2)
    tok = token("stdin")
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok,
                             "--body-file", "-"], stdin=BODY)
    expect_ok(res, "send with the body from stdin")
    check_message(delivered(rcpt, tok, res, "body from stdin"), "body from stdin", res, frm=sender.address,
                  to=[rcpt.address], subject=tok, body=BODY, mid=res.json()["message_id"])


@sc
def body_file_crlf(ctx):
    """--body-file with CRLF line endings arrives as the same text."""
    sender, rcpt = claim(ctx, 2)
    tok = token("bodyfile")
    f = ctx.scratch / "body.txt"
    f.write_bytes(BODY.replace("\n", "\r\n").encode())
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok,
                             "--body-file", str(f)])
    expect_ok(res, "send --body-file")
    check_message(delivered(rcpt, tok, res, "--body-file"), "--body-file", res, frm=sender.address,
                  to=[rcpt.address], subject=tok, body=BODY, mid=res.json()["message_id"])


@sc
def big_attachment(ctx):
    """A 2 MB random attachment (plus a PNG) arrives byte for byte."""
    sender, rcpt = claim(ctx, 2)
    tok = token("bigatt")
    files = attachment_files(ctx, big=True)
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "see attached"]
               + sum((["--attach", str(ctx.scratch / n)] for n in files), []), mode="implicit")
    expect_ok(res, "send with a 2 MB attachment")
    check_message(delivered(rcpt, tok, res, "2 MB attachment"), "2 MB attachment", res, frm=sender.address,
                  to=[rcpt.address], subject=tok, body="see attached", mid=res.json()["message_id"],
                  attachments=files)


@sc
def extra_headers_and_display_name(ctx):
    """--header adds headers; --from with a UTF-8 display name is encoded, the envelope is the address."""
    sender, rcpt = claim(ctx, 2)
    tok = token("headers")
    off = pfx.log_offset(ctx.dir)
    res = send(ctx, sender, ["--from", f"Jürgen Müller <{sender.address}>", "--to", rcpt.address, "--subject", tok,
                             "--body", "x", "--header", "X-Mailwrench-Check: yes", "--header",
                             f"Reply-To: replies@{ctx.env['smtp_domain']}"])
    expect_ok(res, "send with --header and a display name")
    data = delivered(rcpt, tok, res, "--header")
    msg = check_message(data, "--header", res, frm=sender.address, to=[rcpt.address], subject=tok, body="x",
                        mid=res.json()["message_id"],
                        headers={"X-Mailwrench-Check": "yes", "Reply-To": f"replies@{ctx.env['smtp_domain']}"})
    eq(msg["From"].addresses[0].display_name, "Jürgen Müller", "the From display name (RFC 2047 decoded)", res)
    wait_log(ctx, off, rf"qmgr\[\d+\]: \w+: from=<{re.escape(sender.address)}>",
             "the envelope sender is the bare address", res)


@sc
def bcc_delivered_not_shown(ctx):
    """--bcc: the Bcc recipient gets the message; no copy shows a Bcc header or the Bcc address."""
    sender, to, cc, bcc = claim(ctx, 4)
    tok = token("bcc")
    res = send(ctx, sender, ["--from", sender.address, "--to", to.address, "--cc", cc.address, "--bcc", bcc.address,
                             "--subject", tok, "--body", "blind"])
    expect_ok(res, "send with --bcc")
    check_json(res, "send with --bcc", frm=sender.address,
               outcome={a: (True, 250, "2.1.5") for a in (to.address, cc.address, bcc.address)}, data=(250, "2.0.0"))
    for u in (to, cc, bcc):
        data = delivered(u, tok, res, f"--bcc, copy of {u.name}")
        check_message(data, f"--bcc, copy of {u.name}", res, frm=sender.address, to=[to.address], cc=[cc.address],
                      subject=tok, body="blind", mid=res.json()["message_id"])
        check(bcc.address.encode() not in added_by_postfix(data)[1],
              f"--bcc: the Bcc address appears in {u.name}'s copy", res)


@sc
def partial_rejection(ctx):
    """An unknown recipient (550 5.1.1) next to a good one: both reported, exit 1, delivered to the good one."""
    sender, rcpt = claim(ctx, 2)
    nobody = ctx.env["smtp_unknown_rcpt"]
    tok = token("partial")
    res = send(ctx, sender, ["--from", sender.address, "--to", nobody, "--to", rcpt.address, "--subject", tok,
                             "--body", "partial"])
    check(res.rc == EX_PARTIAL, f"one of two recipients refused: exit {res.rc}, expected {EX_PARTIAL}", res)
    doc = check_json(res, "partial", frm=sender.address,
                     outcome={nobody: (False, 550, "5.1.1"), rcpt.address: (True, 250, "2.1.5")}, data=(250, "2.0.0"))
    check("unknown" in doc["recipients"][0]["text"].lower(), "partial: the server's text for nobody is not passed on", res)
    check_message(delivered(rcpt, tok, res, "partial"), "partial", res, frm=sender.address,
                  to=[nobody, rcpt.address], subject=tok, body="partial", mid=doc["message_id"])
    res2 = send(ctx, sender, ["--from", sender.address, "--to", nobody, "--to", rcpt.address, "--subject", tok + "-2",
                              "--body", "partial"], as_json=False)
    check(res2.rc == EX_PARTIAL, f"partial (plain): exit {res2.rc}, expected {EX_PARTIAL}", res2)
    check_plain(res2, "partial (plain)", {nobody: (False, 550, "5.1.1"), rcpt.address: (True, 250, "2.1.5")})
    delivered(rcpt, tok + "-2", res2, "partial (plain)")


@sc
def all_rejected(ctx):
    """Every recipient refused permanently: exit 65, no message sent."""
    sender, = claim(ctx, 1)
    nobody = ctx.env["smtp_unknown_rcpt"]
    other = "nobody-else@" + ctx.env["smtp_domain"]
    res = send(ctx, sender, ["--from", sender.address, "--to", nobody, "--cc", other, "--subject", token("allrej"),
                             "--body", "x"])
    check(res.rc == EX_DATAERR, f"all recipients refused: exit {res.rc}, expected {EX_DATAERR}", res)
    doc = result_doc(res, "all rejected")
    if "error" in doc:
        eq(doc["error"].get("exit_code"), EX_DATAERR, "all rejected: error.exit_code", res)
        check(nobody in doc["error"].get("message", ""), "all rejected: the error does not name the recipients", res)
    else:
        check_json(res, "all rejected", frm=sender.address,
                   outcome={nobody: (False, 550, "5.1.1"), other: (False, 550, "5.1.1")}, data=None)


@sc
def relay_denied(ctx):
    """A recipient outside lab.test: Postfix refuses to relay (554 5.7.1), exit 65, nothing leaves."""
    sender, = claim(ctx, 1)
    res = send(ctx, sender, ["--from", sender.address, "--to", "someone@example.com", "--subject", token("relay"),
                             "--body", "x"])
    check(res.rc == EX_DATAERR, f"relay refused: exit {res.rc}, expected {EX_DATAERR}", res)


@sc
def no_auth_on_submission(ctx):
    """Without -u no AUTH is sent; the submission port then refuses the recipient: exit 65."""
    rcpt, = claim(ctx, 1)
    tok = token("noauth")
    res = send(ctx, None, ["--from", rcpt.address, "--to", rcpt.address, "--subject", tok, "--body", "x"], verbose=True)
    check(res.rc == EX_DATAERR, f"no AUTH on submission: exit {res.rc}, expected {EX_DATAERR}", res)
    check(not re.search(r"^\W*(C:|>|->)?\s*AUTH\b", res.stderr, re.M | re.I), "no -u, but AUTH was sent", res)
    not_delivered(rcpt, tok, "no AUTH on submission", res)


@sc
def temporary_recipient(ctx):
    """defer@lab.test gets 450 4.2.0 next to an accepted recipient: exit 1 (partial, issue 11.12:
    75 would make a retrying script give the accepted one a second copy), delivered to the
    accepted one; alone: exit 75."""
    sender, rcpt = claim(ctx, 2)
    defer = ctx.env["smtp_defer_rcpt"]
    tok = token("defer")
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--to", defer, "--subject", tok,
                             "--body", "x"])
    check(res.rc == EX_PARTIAL, f"a recipient deferred, another accepted: exit {res.rc}, expected {EX_PARTIAL}",
          res)
    doc = result_doc(res, "defer")
    check("error" not in doc, "defer: --json should report the recipients, not only an error", res)
    eq([(r["address"], r["accepted"], r["code"], r["enhanced"]) for r in doc["recipients"]],
       [(rcpt.address, True, 250, "2.1.5"), (defer, False, 450, "4.2.0")], "defer: recipients", res)
    eq((doc.get("data") or {}).get("code"), 250, "defer: the reply to the message", res)
    delivered(rcpt, tok, res, "defer (data accepted: the accepted recipient must get it)")
    res2 = send(ctx, sender, ["--from", sender.address, "--to", defer, "--subject", tok + "-only", "--body", "x"])
    check(res2.rc == EX_TEMPFAIL, f"the only recipient deferred: exit {res2.rc}, expected {EX_TEMPFAIL}", res2)


def sender_fate(ctx, sender_addr: str):
    """Postfix refuses or defers the MAIL FROM address at MAIL, at DATA or after the message."""
    fate = ctx.env["smtp_sender_fates"][sender_addr]
    auth_user, rcpt = claim(ctx, 2)
    tok = token("fate")
    code = int(fate["reply"][:3])
    enh = fate["reply"].split()[1]
    want = EX_TEMPFAIL if code < 500 else EX_DATAERR
    res = send(ctx, auth_user, ["--from", sender_addr, "--to", rcpt.address, "--subject", tok, "--body", "x"])
    what = f"MAIL FROM:<{sender_addr}> ({fate['stage']}: {fate['reply']})"
    check(res.rc == want, f"{what}: exit {res.rc}, expected {want}", res)
    doc = result_doc(res, what)
    if "error" in doc:
        eq(doc["error"].get("exit_code"), want, f"{what}: error.exit_code", res)
        check(str(code) in doc["error"].get("message", ""), f"{what}: the error does not show the reply {code}", res)
    elif fate["stage"] in ("data", "eod"):
        check_json(res, what, frm=sender_addr, outcome={rcpt.address: (True, 250, "2.1.5")}, data=(code, enh))
    not_delivered(rcpt, tok, what, res)


for _addr in pfx.SENDER_FATES:
    add("sender_" + _addr.split("@")[0].replace("-", "_"), sender_fate, _addr)


@sc
def header_check_refusal(ctx):
    """Postfix's cleanup refuses the message after DATA (550 5.7.1): exit 65, data reported."""
    sender, rcpt = claim(ctx, 2)
    tok = token("hdrreject")
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x",
                             "--header", ctx.env["smtp_reject_header"]])
    check(res.rc == EX_DATAERR, f"message refused after DATA: exit {res.rc}, expected {EX_DATAERR}", res)
    check_json(res, "refused after DATA", frm=sender.address, outcome={rcpt.address: (True, 250, "2.1.5")},
               data=(550, "5.7.1"))
    not_delivered(rcpt, tok, "refused after DATA", res)


@sc
def wrong_password(ctx):
    """A wrong password: exit 77, one error line, neither password in any output."""
    sender, rcpt = claim(ctx, 2)
    tok = token("wrongpw")
    wrong = "Wr0ng-" + os.urandom(6).hex()
    mw._SECRETS.append((wrong, "<the wrong password>"))
    for mode, mech in (("starttls", "plain"), ("implicit", "login")):
        res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x"],
                   mode=mode, auth=mech, password=wrong, as_json=False)
        mw.expect_error(res, EX_NOPERM, r"auth|password|credential|535", f"wrong password ({mode}, {mech})")
        no_secrets(res, f"wrong password ({mode}, {mech})", sender.name, wrong)
        no_secrets(res, f"wrong password ({mode}, {mech})", sender.name, sender.password)
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x"],
               password=wrong)
    check(res.rc == EX_NOPERM, f"wrong password with --json: exit {res.rc}", res)
    doc = result_doc(res, "wrong password --json")
    check(isinstance(doc.get("error"), dict) and doc["error"].get("exit_code") == EX_NOPERM,
          "wrong password --json: expected {\"error\": {..., \"exit_code\": 77}}", res)
    not_delivered(rcpt, tok, "wrong password", res)


@sc
def untrusted_certificate(ctx):
    """No --cacert (the system store does not know the test CA), another CA, or a host name not in
    the certificate: exit 77 before any AUTH or message."""
    sender, rcpt = claim(ctx, 2)
    tok = token("cert")
    base = ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x"]
    for mode in ("starttls", "implicit"):
        for label, glob_args in (("system store", smtp_args(ctx, mode, sender, cacert=None)),
                                 ("another CA", smtp_args(ctx, mode, sender, cacert=ctx.env["other_ca"])),
                                 ("wrong host name", smtp_args(ctx, mode, sender, host=ctx.env["wrong_ip"]))):
            res = ctx.run(glob_args + ["send"] + base, password=sender.password)
            mw.expect_error(res, EX_NOPERM, r"certif|verif|trust|host ?name|TLS",
                            f"{label} over {mode}")
            no_secrets(res, f"{label} over {mode}", sender.name, sender.password)
    not_delivered(rcpt, tok, "untrusted certificate", res)


@sc
def starttls_not_offered(ctx):
    """--tls starttls on Postfix's port without STARTTLS (which offers AUTH in clear text there):
    exit 77 or 69, and Postfix saw no AUTH and no MAIL in that session."""
    sender, rcpt = claim(ctx, 2)
    tok = token("nostarttls")
    with plain_port(ctx) as off:
        argv = smtp_args(ctx, "plain", sender)
        argv[argv.index("--tls") + 1] = "starttls"
        res = ctx.run(argv + ["send", "--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x"],
                      password=sender.password)
        mw.expect_error(res, (EX_NOPERM, EX_UNAVAILABLE), r"STARTTLS|TLS", "STARTTLS not offered")
        sessions = plain_port_sessions(ctx, off, res, "STARTTLS not offered")
    for s in sessions:
        check(not re.search(r"\b(auth|mail|rcpt|data)=", s),
              f"STARTTLS not offered: Postfix logged AUTH/MAIL in the session: {s}", res)
    not_delivered(rcpt, tok, "STARTTLS not offered", res)


@sc
def plaintext_auth_refused(ctx):
    """--tls none with -u but without --allow-plaintext: the password is not sent (77)."""
    sender, rcpt = claim(ctx, 2)
    tok = token("plaintext")
    with plain_port(ctx) as off:
        res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x"],
                   mode="plain", as_json=False)
        mw.expect_error(res, EX_NOPERM, r"plain|clear|TLS|allow", "--tls none with a password")
        sessions = plain_port_sessions(ctx, off, res, "--tls none with a password")
    for s in sessions:
        check(not re.search(r"\bauth=", s), f"--tls none: AUTH was sent in clear text: {s}", res)
    not_delivered(rcpt, tok, "--tls none with a password", res)


@sc
def plaintext_auth_allowed(ctx):
    """--tls none --allow-plaintext: AUTH in clear text works (Postfix records it)."""
    sender, rcpt = claim(ctx, 2)
    tok = token("allowplain")
    with plain_port(ctx) as off:
        res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x"],
                   mode="plain", glob=["--allow-plaintext"], auth="plain")
        expect_ok(res, "--tls none --allow-plaintext")
        wait_log(ctx, off, rf"{re.escape(res.json()['queue_id'])}: client=.*sasl_method=PLAIN",
                 "--allow-plaintext: Postfix's record of AUTH PLAIN", res)
    delivered(rcpt, tok, res, "--allow-plaintext")


@sc
def no_auth_plain_port(ctx):
    """No -u on the port that takes mail without AUTH: sent, and no AUTH in Postfix's log."""
    rcpt, = claim(ctx, 1)
    tok = token("noauthplain")
    with plain_port(ctx) as off:
        res = send(ctx, None, ["--from", "someone@example.org", "--to", rcpt.address, "--subject", tok, "--body", BODY],
                   mode="plain")
        expect_ok(res, "send without AUTH")
        sessions = plain_port_sessions(ctx, off, res, "send without AUTH")
    check(all(not re.search(r"\bauth=", s) for s in sessions), f"no -u, but AUTH in the log: {sessions}", res)
    check_message(delivered(rcpt, tok, res, "without AUTH"), "without AUTH", res, frm="someone@example.org",
                  to=[rcpt.address], subject=tok, body=BODY, mid=res.json()["message_id"])


RAW = ("From: Raw Sender <{frm}>\n"
       "To: {to}\n"
       "Cc: {cc}\n"
       "Bcc: {bcc}\n"
       "Subject: raw {tok}\n"
       "Date: Mon, 1 Jun 2020 12:00:00 +0000\n"
       "Message-ID: <raw-{tok}@mailwrench.test>\n"
       "MIME-Version: 1.0\n"
       "Content-Type: text/plain; charset=utf-8\n"
       "Content-Transfer-Encoding: 8bit\n"
       "X-Folded: first part\n"
       "  second part\n"
       "\n"
       "line 1\n"
       ".\n"
       "..\n"
       ".leading dot\n"
       "Grüße\n"
       "\n"
       "last line\n")


def without_bcc(raw: str) -> str:
    return re.sub(r"^Bcc:.*\n", "", raw, flags=re.M)


@sc
def raw_from_stdin(ctx):
    """--raw: a complete message with LF endings on stdin, the envelope from its From/To/Cc/Bcc.
    Every recipient gets it, byte for byte as written (after Postfix's trace headers) except the
    Bcc line."""
    frm, to, cc, bcc = claim(ctx, 4)
    tok = token("raw")
    raw = RAW.format(frm=frm.address, to=to.address, cc=cc.address, bcc=bcc.address, tok=tok)
    res = send(ctx, frm, ["--raw"], stdin=raw)
    expect_ok(res, "send --raw")
    check_json(res, "send --raw", frm=frm.address,
               outcome={a: (True, 250, "2.1.5") for a in (to.address, cc.address, bcc.address)}, data=(250, "2.0.0"))
    eq(res.json()["message_id"], f"<raw-{tok}@mailwrench.test>", "send --raw: message_id (from the message)", res)
    want = without_bcc(raw).encode()
    for u in (to, cc, bcc):
        got = added_by_postfix(delivered(u, tok, res, f"--raw, {u.name}"))[1]
        eq(got, want, f"--raw: the message as {u.name} received it", res)


@sc
def raw_envelope_from_flags(ctx):
    """--raw --from/--to: the envelope comes from the flags, not from the message's headers."""
    frm, to, header_only = claim(ctx, 3)
    tok = token("rawenv")
    raw = RAW.format(frm="header-from@example.org", to=header_only.address, cc=header_only.address,
                     bcc=header_only.address, tok=tok)
    off = pfx.log_offset(ctx.dir)
    res = send(ctx, frm, ["--raw", "--from", frm.address, "--to", to.address], stdin=raw)
    expect_ok(res, "send --raw --from --to")
    check_json(res, "send --raw --from --to", frm=frm.address, outcome={to.address: (True, 250, "2.1.5")},
               data=(250, "2.0.0"))
    eq(added_by_postfix(delivered(to, tok, res, "--raw --to"))[1], without_bcc(raw).encode(),
       "--raw --to: the message as received", res)
    wait_log(ctx, off, rf"{re.escape(res.json()['queue_id'])}: from=<{re.escape(frm.address)}>",
             "--raw --from: the envelope sender", res)
    not_delivered(header_only, tok, "--raw --to: the header recipients are not the envelope", res, wait=1)


@fk
def dry_run(ctx):
    """--dry-run prints the composed message and connects to nothing (a listening port sees no
    connection; a closed port is no error)."""
    with mw.FakeServer("silent") as srv:
        tok = token("dry")
        args = ["send", "--from", "a@example.org", "--to", "b@example.org", "--cc", "c@example.org",
                "--bcc", "hidden@example.org", "--subject", f"Grüße {tok}", "--body", BODY, "--dry-run"]
        res, out = ctx.run_raw(["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none"] + args)
        expect_ok(res, "send --dry-run")
        time.sleep(0.3)
        eq(srv.connections, 0, "send --dry-run: connections to the server", res)
    msg = parse(out.replace(b"\r\n", b"\n"))
    eq(str(msg["Subject"]), f"Grüße {tok}", "--dry-run: Subject", res)
    for name in ("From", "To", "Cc", "Date", "Message-ID", "MIME-Version"):
        check(msg[name] is not None, f"--dry-run: no {name} header", res)
    check(msg["Bcc"] is None and b"hidden@example.org" not in out, "--dry-run: the Bcc recipient shows", res)
    check(all(b < 0x80 for b in header_section(out.replace(b"\r\n", b"\n"))), "--dry-run: header not 7-bit", res)
    eq(norm(msg.get_body(("plain",)).get_content()), norm(BODY), "--dry-run: body", res)
    res2 = ctx.run(["-H", "127.0.0.1", "-p", str(mw.closed_port()), "--tls", "implicit", "-u", "x"] + args)
    expect_ok(res2, "send --dry-run to a closed port")


@fk
def dry_run_json(ctx):
    """--dry-run --json: one JSON document with dry_run true, no connection."""
    with mw.FakeServer("silent") as srv:
        res = ctx.run(["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--json", "send", "--from",
                       "a@example.org", "--to", "b@example.org", "--subject", "x", "--body", "x", "--dry-run"])
        expect_ok(res, "send --dry-run --json")
        time.sleep(0.3)
        eq(srv.connections, 0, "send --dry-run --json: connections", res)
    doc = result_doc(res, "--dry-run --json")
    eq(doc.get("dry_run"), True, "--dry-run --json: dry_run", res)
    check(MSGID.match(str(doc.get("message_id"))), "--dry-run --json: message_id", res)
    # As mailwrench(1) documents it: only the envelope (no outcomes: no server was asked) and
    # the message in a member "message" with CRLF endings.
    eq(doc.get("recipients"), ["b@example.org"], "--dry-run --json: recipients", res)
    eq(doc.get("from"), "a@example.org", "--dry-run --json: from", res)
    eq(sorted(doc.keys()), ["dry_run", "from", "message", "message_id", "recipients"],
       "--dry-run --json: keys", res)
    msg = doc.get("message")
    check(isinstance(msg, str) and "\r\n\r\nx\r\n" in msg and "\n" not in msg.replace("\r\n", ""),
          "--dry-run --json: message (the message with CRLF line endings)", res)
    eq(str(parse(msg.encode().replace(b"\r\n", b"\n"))["Message-ID"]), doc["message_id"],
       "--dry-run --json: the Message-ID in the message", res)


@fk
def dry_run_raw(ctx):
    """--raw --dry-run: the message as it would be sent, Bcc line removed, nothing else changed."""
    raw = RAW.format(frm="a@example.org", to="b@example.org", cc="c@example.org", bcc="hidden@example.org",
                     tok="dry")
    res, out = ctx.run_raw(["-H", "127.0.0.1", "-p", str(mw.closed_port()), "--tls", "none", "send", "--raw",
                            "--dry-run"], stdin=raw.encode())
    expect_ok(res, "send --raw --dry-run")
    eq(out.replace(b"\r\n", b"\n"), without_bcc(raw).encode(), "send --raw --dry-run: the message", res)


@sc
def json_schema(ctx):
    """--json on success: exactly the documented keys and types, and nothing on stdout besides."""
    sender, rcpt = claim(ctx, 2)
    tok = token("schema")
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x"],
               mode="implicit")
    expect_ok(res, "send --json")
    doc = check_json(res, "send --json", frm=sender.address, outcome={rcpt.address: (True, 250, "2.1.5")},
                     data=(250, "2.0.0"))
    check(doc["data"]["text"].strip(), "send --json: data.text is empty", res)
    check(doc["queue_id"] in doc["data"]["text"], "send --json: queue_id is not from the final reply", res)
    delivered(rcpt, tok, res, "send --json")


@sc
def config_smtp_keys(ctx):
    """smtp-host/smtp-port/smtp-tls/smtp-user/smtp-auth in the account section override
    host/port/tls/user/auth (which point at the POP3 server) for send."""
    sender, rcpt = claim(ctx, 2)
    tok = token("config")
    e = ctx.env
    cfg = ctx.file("config", f"""[account t]
host = {e['ip']}
port = {e['pop3s_port']}
tls = implicit
user = alice
auth = user
cacert = {e['ca']}
smtp-host = {e['smtp_host']}
smtp-port = {e['smtp_port']}
smtp-tls = starttls
smtp-user = {sender.name}
smtp-auth = login
""")
    off = pfx.log_offset(ctx.dir)
    res = ctx.run(["--config", str(cfg), "-a", "t", "--json", "send", "--from", sender.address, "--to", rcpt.address,
                   "--subject", tok, "--body", "x"], password=sender.password)
    expect_ok(res, "send -a with smtp-* keys")
    wait_log(ctx, off, rf"{re.escape(res.json()['queue_id'])}: client=.*sasl_method=LOGIN, "
                       rf"sasl_username={re.escape(sender.name)}\b", "smtp-user/smtp-auth were used", res)
    delivered(rcpt, tok, res, "send -a")


@sc
def dsn_success_report(ctx):
    """--dsn-notify SUCCESS --dsn-envid ID: Postfix sends the sender a delivery report naming ID."""
    sender, rcpt = claim(ctx, 2)
    tok = token("dsn")
    envid = "envid-" + os.urandom(4).hex()
    res = send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok, "--body", "x",
                             "--dsn-notify", "SUCCESS", "--dsn-envid", envid, "--dsn-return", "hdrs"])
    expect_ok(res, "send with DSN options")
    delivered(rcpt, tok, res, "DSN")
    report = delivered(sender, envid, res, "the success DSN to the sender")
    check(re.search(rb"Original-Envelope-Id:\s*" + envid.encode(), report, re.I),
          "the DSN does not carry Original-Envelope-Id", res)
    check(re.search(rb"Action:\s*delivered", report, re.I), "the DSN is not a success report", res)


@fk
def usage_errors(ctx):
    """Usage errors exit 64 (missing input files 66) before any connection."""
    with mw.FakeServer("silent") as srv:
        g = ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--timeout", "5"]
        base = ["--from", "a@example.org", "--to", "b@example.org", "--subject", "x"]
        cases = [
            ("no recipient", ["send", "--from", "a@example.org", "--subject", "x", "--body", "x"], EX_USAGE),
            ("no sender", ["send", "--to", "b@example.org", "--subject", "x", "--body", "x"], EX_USAGE),
            ("--body and --body-file", ["send"] + base + ["--body", "x", "--body-file", "/dev/null"], EX_USAGE),
            ("--dsn-return bad", ["send"] + base + ["--body", "x", "--dsn-return", "everything"], EX_USAGE),
            ("--dsn-notify bad", ["send"] + base + ["--body", "x", "--dsn-notify", "SOMETIMES"], EX_USAGE),
            ("--header without colon", ["send"] + base + ["--body", "x", "--header", "NoColonHere"], EX_USAGE),
            ("--attach missing", ["send"] + base + ["--body", "x", "--attach", str(ctx.scratch / "nope.bin")],
             EX_NOINPUT),
            ("--body-file missing", ["send"] + base + ["--body-file", str(ctx.scratch / "nope.txt")], EX_NOINPUT),
        ]
        bad = []
        for label, args, code in cases:
            before = srv.connections
            res = ctx.run(g + args)
            time.sleep(0.1)
            ok = res.rc == code and len(res.stderr_lines) == 1 and mw.ERROR_LINE.match(res.stderr_lines[0])
            if not ok or srv.connections != before:
                bad.append(f"{label}: exit {res.rc} (expected {code}), "
                           f"{'connected first, ' if srv.connections != before else ''}stderr {res.stderr.strip()!r}")
        check(not bad, "send usage errors (each must fail before connecting):\n    " + "\n    ".join(bad))


@fk
def header_option_replaces(ctx):
    """--header adds or replaces: one Subject (the --header one), one Message-ID (the given one,
    reported as message_id)."""
    res = ctx.run(["-H", "127.0.0.1", "-p", str(mw.closed_port()), "--tls", "none", "--json", "send", "--from",
                   "a@example.org", "--to", "b@example.org", "--subject", "original", "--body", "x", "--header",
                   "Subject: replaced", "--header", "Message-ID: <custom-id@mailwrench.test>", "--header",
                   "X-Added: 1", "--dry-run"])
    expect_ok(res, "--header replacing Subject and Message-ID")
    doc = result_doc(res, "--header replacing")
    msg = parse(doc["message"].encode().replace(b"\r\n", b"\n")) if "message" in doc else None
    if msg is None:
        res, out = ctx.run_raw(res.argv[1:res.argv.index("--json")] + res.argv[res.argv.index("--json") + 1:])
        msg = parse(out.replace(b"\r\n", b"\n"))
    eq(msg.get_all("Subject"), ["replaced"], "--header 'Subject: ...': the Subject headers", res)
    eq(msg.get_all("Message-ID"), ["<custom-id@mailwrench.test>"], "--header 'Message-ID: ...'", res)
    eq(msg.get_all("X-Added"), ["1"], "--header 'X-Added: 1'", res)
    eq(doc["message_id"], "<custom-id@mailwrench.test>", "--header Message-ID: the reported message_id", res)


@fk
def header_injection(ctx):
    """A line break inside --subject, --header or an address must not start a new header (usage
    error, or encoded/folded so that no header X-Injected appears)."""
    cases = [("--subject", "hello\nX-Injected: subject"), ("--subject", "hello\r\nX-Injected: subject-crlf"),
             ("--header", "X-Ok: v\nX-Injected: header"), ("--to", "b@example.org\nX-Injected: to"),
             ("--from", "a@example.org\nX-Injected: from")]
    for opt, value in cases:
        args = {"--subject": "s", "--from": "a@example.org", "--to": "b@example.org"}
        args[opt] = value
        extra = ["--header", value] if opt == "--header" else []
        argv = ["-H", "127.0.0.1", "-p", str(mw.closed_port()), "--tls", "none", "send", "--body", "x", "--dry-run"]
        for k, v in args.items():
            argv += [k, v]
        res, out = ctx.run_raw(argv + extra)
        if res.rc == EX_USAGE:
            continue
        expect_ok(res, f"{opt} with a line break: neither a usage error nor a message")
        msg = parse(out.replace(b"\r\n", b"\n"))
        check(msg["X-Injected"] is None, f"{opt} {value!r}: a header X-Injected was injected", res)


@fk
def default_ports(ctx):
    """send's default ports: 465 for --tls implicit, 587 for starttls, 25 for none (the error for
    a closed port names it)."""
    for tls, port in (("implicit", 465), ("starttls", 587), ("none", 25)):
        if _listening("127.0.0.1", port):
            raise mw.Skip(f"something listens on 127.0.0.1:{port} here")
        res = ctx.run(["-H", "127.0.0.1", "--tls", tls, "--timeout", "5", "send", "--from", "a@example.org",
                       "--to", "b@example.org", "--body", "x"])
        mw.expect_error(res, EX_UNAVAILABLE, rf"\b{port}\b", f"--tls {tls} without -p (port {port}, closed)")


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- against the fake server

@fk
def fake_raw_long_line_warning(ctx):
    """--raw with a line over 998 octets: sent as it is (it cannot be re-encoded), with a warning."""
    raw = "From: a@example.org\nTo: b@example.org\nSubject: long\nDate: Mon, 1 Jun 2020 12:00:00 +0000\n" \
          "Message-ID: <long@mailwrench.test>\n\n" \
          + "x" * 1200 + "\nend\n"
    with FakeSmtp() as srv:
        res = ctx.run(fake_args(srv.port) + ["send", "--raw"], stdin=raw)
        expect_ok(res, "--raw with a 1200-octet line")
        check(re.search(r"998|long|line", res.stderr, re.I) and "warning" in res.stderr.lower(),
              "--raw with a 1200-octet line: no warning on stderr (issue 4: 'a warning for lines over 998 octets')",
              res)
        eq(unstuff(srv.data[0]), raw.encode(), "--raw with a long line: the message on the wire", res)


@fk
def fake_quit_after_refusal(ctx):
    """RFC 5321 4.1.1.10: the client sends QUIT before it closes, also after a refusal (AUTH
    failed, MAIL refused, STARTTLS not offered, every recipient refused)."""
    cases = [
        ("AUTH refused", dict(auth_reply="535 5.7.8 Error: authentication failed"),
         ["-u", "someone", "--allow-plaintext", "--auth", "plain"], "none"),
        ("MAIL refused", dict(mail_reply="553 5.7.1 sender refused"), [], "none"),
        ("every RCPT refused", dict(rcpt={"b@example.org": "550 5.1.1 no such user"}), [], "none"),
        ("STARTTLS not offered", dict(), [], "starttls"),
    ]
    missing = []
    for label, kw, extra, tls in cases:
        with FakeSmtp(**kw) as srv:
            res = ctx.run(fake_args(srv.port, extra, tls=tls) + ["send", "--from", "a@example.org", "--to",
                                                                 "b@example.org", "--subject", "x", "--body", "x"],
                          password="fake-password-2")
            check(res.rc not in (0, 1), f"{label}: exit {res.rc}", res)
            time.sleep(0.2)
            if not (srv.verbs() and srv.verbs()[-1] == "QUIT"):
                missing.append(f"{label} (commands: {' '.join(srv.verbs())})")
    check(not missing, "the client closed without QUIT after: " + "; ".join(missing))


@fk
def fake_smtp_command_injection(ctx):
    """A CR/LF in an envelope address must not smuggle an SMTP command to the server."""
    for frm, to in (("a@example.org", "b@example.org\r\nRSET"), ("a@example.org>\r\nNOOP\r\nMAIL FROM:<x@y", "b@example.org")):
        with FakeSmtp() as srv:
            res = ctx.run(fake_args(srv.port) + ["send", "--from", frm, "--to", to, "--subject", "x", "--body", "x"])
            time.sleep(0.2)
            bad = [v for v in srv.verbs() if v in ("RSET", "NOOP")] + (["MAIL x2"] if len(srv.lines("MAIL")) > 1 else [])
            check(not bad, f"--from {frm!r} --to {to!r}: the server received the smuggled commands {bad}", res)
            check(res.rc in (0, EX_USAGE, EX_DATAERR), f"--to with CR/LF: exit {res.rc}", res)


@fk
def fake_starttls_not_offered(ctx):
    """A server without STARTTLS that offers AUTH: --tls starttls must stop before AUTH/MAIL."""
    with FakeSmtp() as srv:
        res = ctx.run(fake_args(srv.port, ["-u", "someone"], tls="starttls") +
                      ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "x", "--body", "x"],
                      password="fake-password-1")
        mw.expect_error(res, (EX_NOPERM, EX_UNAVAILABLE), r"STARTTLS|TLS", "fake: STARTTLS not offered")
        bad = [v for v in srv.verbs() if v in ("AUTH", "MAIL", "RCPT", "DATA")]
        check(not bad, f"fake: STARTTLS not offered, but the client sent {bad}", res)


def fake_starttls_broken(ctx, how: str):
    """The server offers STARTTLS, then the upgrade fails: an error, never a session in clear text."""
    with FakeSmtp(starttls=how) as srv:
        res = ctx.run(fake_args(srv.port, ["-u", "someone"], tls="starttls", timeout=5) +
                      ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "x", "--body", "x"],
                      password="fake-password-1")
        check(res.rc not in (0, 1), f"fake: STARTTLS {how}: exit {res.rc}, expected an error", res)
        check(len(res.stderr_lines) >= 1 and mw.ERROR_LINE.match(res.stderr_lines[-1]),
              f"fake: STARTTLS {how}: no 'mailwrench: error:' line", res)
        after = srv.verbs()[srv.verbs().index("STARTTLS") + 1:] if "STARTTLS" in srv.verbs() else []
        bad = [v for v in after if v in ("AUTH", "MAIL", "RCPT", "DATA", "EHLO")]
        check(not bad, f"fake: STARTTLS {how}: the client went on in clear text with {bad}", res)
        check("fake-password-1" not in " ".join(srv.received), f"fake: STARTTLS {how}: the password was sent", res)


for _how in ("refuse", "ok-garbage", "close"):
    mw.add(f"fake_starttls_{_how.replace('-', '_')}", fake_starttls_broken, _how)


@fk
def fake_greeting_554(ctx):
    """A 554 greeting (no service): exit 69, no MAIL."""
    with FakeSmtp(greeting="554 5.3.2 fake.example no SMTP service here") as srv:
        res = ctx.run(fake_args(srv.port) + ["send", "--from", "a@example.org", "--to", "b@example.org",
                                             "--subject", "x", "--body", "x"])
        mw.expect_error(res, EX_UNAVAILABLE, r"554|service|refus", "fake: 554 greeting")
        check("MAIL" not in srv.verbs(), "fake: 554 greeting: MAIL was sent anyway", res)


@fk
def fake_ehlo_and_helo_refused(ctx):
    """EHLO and HELO both refused with 5xx: exit 69."""
    with FakeSmtp(ehlo_reply="550 5.7.1 go away", helo_reply="550 5.7.1 go away") as srv:
        res = ctx.run(fake_args(srv.port) + ["send", "--from", "a@example.org", "--to", "b@example.org",
                                             "--subject", "x", "--body", "x"])
        mw.expect_error(res, EX_UNAVAILABLE, r"550|EHLO|HELO|refus", "fake: EHLO/HELO refused")


@fk
def fake_helo_fallback_7bit(ctx):
    """EHLO answered 502: HELO instead, no extensions, so an 8-bit body goes out 7-bit clean
    (quoted-printable or base64); lines starting with '.' are dot-stuffed; CRLF everywhere;
    --ehlo NAME is the greeting; no Bcc in the message."""
    with FakeSmtp(ehlo_reply="502 5.5.2 Error: command not recognized") as srv:
        res = ctx.run(fake_args(srv.port) + ["--json", "send", "--ehlo", "client.example", "--from", "a@example.org",
                                             "--to", "b@example.org", "--bcc", "hidden@example.org",
                                             "--subject", "Grüße", "--body", BODY])
        expect_ok(res, "fake: HELO fallback")
        eq([l.upper() for l in srv.lines("HELO")], ["HELO CLIENT.EXAMPLE"], "fake: the HELO line", res)
        eq(len(srv.data), 1, "fake: messages received", res)
        wire = srv.data[0]
        check_wire(wire, "fake: HELO fallback", res)
        check(all(b < 0x80 for b in wire), "fake: no 8BITMIME, but 8-bit bytes were sent", res)
        mail = srv.lines("MAIL")
        check(mail and "BODY=8BITMIME" not in mail[0].upper() and "SIZE=" not in mail[0].upper(),
              f"fake: ESMTP parameters sent to a HELO server: {mail}", res)
        msg = parse(unstuff(wire))
        check(msg["Bcc"] is None and b"hidden@example.org" not in wire, "fake: the Bcc recipient is in the message", res)
        eq(norm(msg.get_body(("plain",)).get_content()), norm(BODY), "fake: body after decoding", res)
        eq(sorted(l.split(":", 1)[1].strip().strip("<>") for l in srv.lines("RCPT")),
           ["b@example.org", "hidden@example.org"], "fake: RCPT TO for To and Bcc", res)


@fk
def fake_8bitmime_and_size(ctx):
    """With 8BITMIME and SIZE offered: MAIL FROM carries SIZE=<at least the message> and, if the
    body goes out 8-bit, BODY=8BITMIME; the wire form is CRLF and dot-stuffed."""
    with FakeSmtp() as srv:
        res = ctx.run(fake_args(srv.port) + ["--json", "send", "--from", "a@example.org", "--to", "b@example.org",
                                             "--subject", "Grüße", "--body", BODY])
        expect_ok(res, "fake: 8BITMIME + SIZE")
        wire = srv.data[0]
        check_wire(wire, "fake: 8BITMIME", res)
        mail = srv.lines("MAIL")[0].upper()
        if any(b >= 0x80 for b in wire):
            check("BODY=8BITMIME" in mail or "SMTPUTF8" in mail, f"fake: 8-bit body without BODY=8BITMIME: {mail}", res)
        m = re.search(r"\bSIZE=(\d+)", mail)
        check(m, f"fake: SIZE offered, but MAIL FROM has no SIZE=: {mail}", res)
        check(int(m.group(1)) >= len(unstuff(wire)) * 0.95,
              f"fake: SIZE={m.group(1)} is less than the message ({len(unstuff(wire))} octets)", res)
        eq(norm(parse(unstuff(wire)).get_body(("plain",)).get_content()), norm(BODY), "fake: body", res)
        eq(res.json().get("queue_id"), "FAKE12345", "fake: queue_id from 'queued as FAKE12345'", res)


@fk
def fake_raw_wire(ctx):
    """--raw with LF endings: on the wire exactly the message in CRLF, dot-stuffed, without Bcc."""
    raw = RAW.format(frm="a@example.org", to="b@example.org", cc="c@example.org", bcc="hidden@example.org", tok="w")
    with FakeSmtp() as srv:
        res = ctx.run(fake_args(srv.port) + ["send", "--raw"], stdin=raw)
        expect_ok(res, "fake: --raw")
        wire = srv.data[0]
        check_wire(wire, "fake: --raw", res)
        eq(unstuff(wire), without_bcc(raw).encode(), "fake: --raw: the message on the wire", res)
        eq(sorted(l.split(":", 1)[1].strip().split()[0].strip("<>") for l in srv.lines("RCPT")),
           ["b@example.org", "c@example.org", "hidden@example.org"], "fake: --raw: envelope from the headers", res)


@fk
def fake_dsn_parameters(ctx):
    """--dsn-*: RET/ENVID on MAIL FROM and NOTIFY on each RCPT, when the server offers DSN."""
    with FakeSmtp(ehlo=["PIPELINING", "8BITMIME", "DSN", "ENHANCEDSTATUSCODES"]) as srv:
        res = ctx.run(fake_args(srv.port) + ["send", "--from", "a@example.org", "--to", "b@example.org",
                                             "--subject", "x", "--body", "x", "--dsn-notify", "SUCCESS,FAILURE",
                                             "--dsn-return", "hdrs", "--dsn-envid", "env42"])
        expect_ok(res, "fake: DSN")
        mail, rcpt = srv.lines("MAIL")[0].upper(), srv.lines("RCPT")[0].upper()
        check("RET=HDRS" in mail and "ENVID=ENV42" in mail, f"fake: DSN: MAIL FROM {mail}", res)
        check("NOTIFY=SUCCESS,FAILURE" in rcpt, f"fake: DSN: RCPT TO {rcpt}", res)


@fk
def fake_queue_id_formats(ctx):
    """The queue id from final replies of other servers (Exim 'id=', Sendmail 'Message accepted')."""
    for reply, want in (("250 OK id=1tXyZa-000ABC-12", "1tXyZa-000ABC-12"),
                        ("250 2.0.0 4AB3cDeF012345 Message accepted for delivery", "4AB3cDeF012345"),
                        ("250 2.0.0 Ok", None)):
        with FakeSmtp(final_reply=reply) as srv:
            res = ctx.run(fake_args(srv.port) + ["--json", "send", "--from", "a@example.org", "--to", "b@example.org",
                                                 "--subject", "x", "--body", "x"])
            expect_ok(res, f"fake: final reply {reply!r}")
            eq(res.json().get("queue_id"), want, f"fake: queue_id from {reply!r}", res)


@fk
def fake_rcpt_421(ctx):
    """421 at RCPT (the server closes): exit 75."""
    with FakeSmtp(rcpt={"b@example.org": "421 4.3.2 Service shutting down"}) as srv:
        res = ctx.run(fake_args(srv.port) + ["send", "--from", "a@example.org", "--to", "b@example.org",
                                             "--subject", "x", "--body", "x"])
        check(res.rc == EX_TEMPFAIL, f"fake: 421 at RCPT: exit {res.rc}, expected {EX_TEMPFAIL}", res)


@fk
def fake_auth_transcript_redacted(ctx):
    """-v with AUTH PLAIN and LOGIN (over --allow-plaintext to the fake server): the transcript
    shows the commands but neither the password nor its base64 forms."""
    pw = "S3cr3t-" + os.urandom(5).hex()
    mw._SECRETS.append((pw, "<fake password>"))
    for mech in ("plain", "login"):
        with FakeSmtp() as srv:
            res = ctx.run(fake_args(srv.port, ["-u", "fakeuser", "--allow-plaintext", "--auth", mech, "-v"]) +
                          ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "x", "--body", "x"],
                          password=pw)
            expect_ok(res, f"fake: AUTH {mech} -v")
            check(re.search(rf"AUTH\s+{mech}", res.stderr, re.I), f"fake: -v does not show AUTH {mech.upper()}", res)
            no_secrets(res, f"fake: AUTH {mech} -v", "fakeuser", pw)
            sent = " ".join(srv.received)
            b64 = lambda s: base64.b64encode(s.encode()).decode()
            check(b64(f"\0fakeuser\0{pw}") in sent or b64(pw) in sent,
                  f"fake: AUTH {mech}: the server did not get the credentials (the test is void)", res)


if __name__ == "__main__":
    sys.exit(mw.main())
