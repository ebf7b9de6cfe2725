# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for the mailwrench integration tests (standard library only).

A test script defines scenarios with @scenario (or add(name, fn, *args)) and ends with main().
It is run as

    test_X.py --mailwrench BIN --dir FIXTURE_DIR [SCENARIO ...]   (no scenario: all of them)
    test_X.py --list                                              (names, one a line, for CMake)

Exit status: 0 all passed, 1 a failure, 77 skipped (the Dovecot fixture did not run here).
Every mailwrench run gets a fresh, empty HOME/XDG_* (so no ~/.netrc or config file of the
person running the tests leaks in), LC_ALL=C.UTF-8 and a hard timeout. Failure reports show the
command line, exit code, time, stdout and stderr, with every known password replaced by a
<password of USER> marker, so that a leak is visible without printing the secret.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import poplib
import pty
import re
import select
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import termios
import time
import traceback
import tty as tty_mode
from dataclasses import dataclass
from pathlib import Path

SKIP = 77
poplib._MAXLINE = 1 << 22  # messages with a 1 MB line
ERROR_LINE = re.compile(r"^mailwrench: error: \S.*$")
REDACTION = re.compile(r"\*\*\*|redacted|hidden|elided", re.I)
SCENARIOS: dict[str, tuple] = {}


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def scenario(fn):
    """Register fn(ctx) as a scenario named after the function."""
    add(fn.__name__, fn)
    return fn


def add(name: str, fn, *args, **kwargs):
    """Register fn(ctx, *args, **kwargs) as scenario NAME (for parametrised scenarios)."""
    if name in SCENARIOS:
        raise ValueError(f"duplicate scenario {name}")
    SCENARIOS[name] = (fn, args, kwargs)


# --------------------------------------------------------------------------- results and checks

_SECRETS: list[tuple[str, str]] = []  # (secret text, marker) — filled from env.json


def redact(text: str) -> str:
    for secret, marker in _SECRETS:
        if secret:
            text = text.replace(secret, marker)
    return text


def _clip(text: str, limit: int = 6000) -> str:
    if len(text) <= limit:
        return text
    return text[: limit // 2] + f"\n[... {len(text) - limit} characters cut ...]\n" + text[-limit // 2:]


@dataclass
class Result:
    argv: list[str]
    rc: int | None
    stdout: str
    stderr: str
    elapsed: float
    env_note: str = ""

    def describe(self) -> str:
        cmd = " ".join(shlex.quote(a) for a in self.argv)
        return (f"  command: {redact(cmd)}\n"
                + (f"  environment: {redact(self.env_note)}\n" if self.env_note else "")
                + f"  exit code: {self.rc}   time: {self.elapsed:.2f} s\n"
                + f"  --- stdout ({len(self.stdout)} chars) ---\n{_clip(redact(self.stdout))}\n"
                + f"  --- stderr ({len(self.stderr)} chars) ---\n{_clip(redact(self.stderr))}\n"
                + "  ---")

    def json(self):
        try:
            return json.loads(self.stdout)
        except ValueError as e:
            fail(f"stdout is not exactly one JSON document ({e})", self)

    @property
    def stderr_lines(self) -> list[str]:
        return [l for l in self.stderr.splitlines() if l.strip()]


def fail(message: str, res: Result | None = None):
    raise Failure(message + ("\n" + res.describe() if res is not None else ""))


def check(cond, message: str, res: Result | None = None):
    if not cond:
        fail(message, res)


def eq(actual, expected, what: str, res: Result | None = None):
    if actual != expected:
        a, e = redact(repr(actual)), redact(repr(expected))
        fail(f"{what}:\n    expected {_clip(e, 3000)}\n    actual   {_clip(a, 3000)}", res)


def expect_ok(res: Result, what: str = "mailwrench should succeed"):
    check(res.rc == 0, f"{what}: exit code {res.rc}, expected 0", res)


def expect_error(res: Result, code: int | tuple[int, ...], pattern: str, what: str):
    """Exit code as given, and stderr is exactly one "mailwrench: error: ..." line matching pattern."""
    codes = code if isinstance(code, tuple) else (code,)
    check(res.rc in codes, f"{what}: exit code {res.rc}, expected {' or '.join(map(str, codes))}", res)
    lines = res.stderr_lines
    check(len(lines) == 1 and ERROR_LINE.match(lines[0]),
          f"{what}: stderr must be exactly one 'mailwrench: error: ...' line (got {len(lines)} lines)", res)
    check(re.search(pattern, lines[0], re.I),
          f"{what}: the error message does not name the problem (should match /{pattern}/i)", res)


# --------------------------------------------------------------------------- fake servers
#
# FakePop3 (a scripted POP3 server with a mailbox that can hang up in RETR, stall, refuse RETR,
# DELE or QUIT, misreport LIST sizes, and records every command) lives in tests/support, built on
# its ScriptedServer (rules: hang up, stall, trickle, ... on any command; TLS); same name here.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
from scripted_server import (FakePop3, ScriptedServer, close, multiline, on,  # noqa: E402,F401
                             send, stall)

def FakeServer(mode: str, capa_lines: list[str] | None = None,
               greeting: str = "+OK fake POP3 server ready"):
    """A server on 127.0.0.1:<free port> (a ScriptedServer: .port, .verbs(), .connections,
    .received). mode:
      "silent"  accept and never send a byte (the connection stays open until close())
      "pop3"    a small scripted POP3 server: greeting, CAPA with capa_lines, -ERR to any login"""
    if mode == "silent":
        return ScriptedServer(greeting=stall())
    return ScriptedServer([on(r"CAPA", multiline("+OK capability list follows", capa_lines or []), times=None),
                           on(r"USER .*", "+OK", times=None),
                           on(r"NOOP", "+OK", times=None),
                           on(r"QUIT", send("+OK bye", close()), times=None)],
                          greeting=greeting, unexpected="-ERR not here")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, never listened, closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port



# --------------------------------------------------------------------------- fresh mailboxes
#
# Scenarios that change a mailbox (fetch --delete, purge) must not touch alice, bob or carol (the
# read-only scenarios running in parallel check them exactly). Ctx.mailbox() creates a new user
# while Dovecot runs: a line in the passwd-file (Dovecot re-reads it when it changes) and a
# Maildir owned by mail:mail (Dovecot picks up new files at the next login).

MAIL_UID = 8
MAIL_GID = 8
MAIL_DOMAIN = "mailwrench.test"
_MID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.I | re.M)


def message_id(data: bytes) -> str | None:
    """The Message-ID of a message (from its header section only)."""
    head = data.split(b"\n\n", 1)[0]
    m = _MID.search(head)
    return m.group(1).decode() if m else None


def message(mid: str, *, frm: str = "Sender <sender@example.org>", subject: str | None = None,
            date: "str | None" = "Mon, 1 Jun 2020 12:00:00 +0000", to: str = "rcpt@lab.test",
            headers: list[str] | None = None, body: "str | bytes" = "Hello.\n",
            size: int | None = None) -> bytes:
    """The bytes of one message (LF line endings, as stored in the server's Maildir) with
    Message-ID <mid@mailwrench.test>. body may be bytes (8-bit, any content); size pads the body
    with text lines until the message has at least that many octets on the wire (CRLF)."""
    lines = [f"From: {frm}", f"To: {to}", f"Subject: {subject if subject is not None else mid}"]
    if date is not None:
        lines.append(f"Date: {date}")
    lines += [f"Message-ID: <{mid}@{MAIL_DOMAIN}>", "MIME-Version: 1.0"]
    lines += headers if headers is not None else ["Content-Type: text/plain; charset=us-ascii"]
    data = ("\n".join(lines) + "\n\n").encode() + (body.encode() if isinstance(body, str) else body)
    if size is not None:
        pad, i = [], 0
        wire = len(data) + data.count(b"\n")
        while wire < size:
            i += 1
            line = f"{mid} filler {i:06d}: the quick brown fox jumps over the lazy dog 0123456789\n".encode()
            pad.append(line)
            wire += len(line) + 1
        data += b"".join(pad)
    return data


def crlf(data: bytes) -> bytes:
    """The wire form's line endings (what --crlf stores)."""
    return data.replace(b"\n", b"\r\n")


_USER_SEQ = [0]


class Mailbox:
    """A fresh POP3 user of the running Dovecot, with the messages given (in POP3 order)."""

    def __init__(self, ctx: "Ctx", user: str, password: str, maildir: Path):
        self.ctx, self.user, self.password, self.maildir = ctx, user, password, maildir
        self.messages: list[bytes] = []   # every message ever delivered, in POP3 order
        self.uids: list[str] = []         # their UIDs (UIDL), same order
        self._file_time = 1_600_000_000

    # ---- delivering
    def deliver(self, messages: list[bytes]) -> list[str]:
        """Puts messages into the server's Maildir (new/, via tmp/, owned by mail) and returns
        their UIDs, which Dovecot assigns at the next login (checked here)."""
        mids = [message_id(m) for m in messages]
        known = {message_id(m) for m in self.messages}
        if None in mids or len(set(mids)) != len(mids) or known & set(mids):
            raise Failure(f"test design: every message needs its own Message-ID ({mids})")
        for i, data in enumerate(messages):
            self._file_time += 1
            base = f"{self._file_time}.M{i:06d}P{os.getpid()}.mwtest"
            tmp = self.maildir / "tmp" / base
            tmp.write_bytes(data)
            os.chown(tmp, MAIL_UID, MAIL_GID)
            os.chmod(tmp, 0o600)
            os.utime(tmp, (self._file_time, self._file_time))
            os.rename(tmp, self.maildir / "new" / base)
        self.messages += messages
        listing = self.server_listing(with_mids=True)
        got = [mid for _, _, mid in listing]
        want = [message_id(m) for m in self.messages]
        if sorted(got) != sorted(want):
            raise Failure(f"fixture: Dovecot shows {len(got)} messages for {self.user}, "
                          f"delivered {len(want)}")
        order = {mid: i for i, mid in enumerate(got)}
        pairs = sorted(zip(self.messages, want), key=lambda p: order[p[1]])
        self.messages = [p[0] for p in pairs]
        uid_of = {mid: uid for _, uid, mid in listing}
        self.uids = [uid_of[message_id(m)] for m in self.messages]
        return [uid_of[m] for m in mids]

    # ---- looking at the server (poplib, not mailwrench)
    def _pop(self):
        p = poplib.POP3(self.ctx.env["ip"], self.ctx.env["pop3_port"], timeout=30)
        p.user(self.user)
        p.pass_(self.password)
        return p

    def server_listing(self, with_mids: bool = False) -> list[tuple[int, str, str | None]]:
        """(number, UID, Message-ID or None) of every message now on the server."""
        p = self._pop()
        try:
            rows = []
            for line in p.uidl()[1]:
                n, uid = line.decode().split()
                mid = None
                if with_mids:
                    head = b"\n".join(p.top(int(n), 0)[1]) + b"\n\n"
                    mid = message_id(head)
                rows.append((int(n), uid, mid))
            p.quit()
            return rows
        finally:
            p.close()

    def server_uids(self) -> list[str]:
        """The UIDs on the server now, in POP3 order."""
        return [uid for _, uid, _ in self.server_listing()]

    # ---- the fixture's view of the messages
    def uid(self, number: int) -> str:
        return self.uids[number - 1]

    def msg(self, number: int) -> bytes:
        return self.messages[number - 1]

    def by_uid(self, uid: str) -> bytes:
        return self.messages[self.uids.index(uid)]

    def uid_of(self, data: bytes) -> str | None:
        mid = message_id(data)
        for m, u in zip(self.messages, self.uids):
            if message_id(m) == mid:
                return u
        return None

    # ---- running mailwrench as this user
    def conn(self, mode: str = "pop3s") -> list[str]:
        return self.ctx.conn(mode, user=self.user)

    def run(self, args: list[str], **kw) -> Result:
        """mailwrench CONNECTION ARGS as this user (password through MAILWRENCH_PASSWORD)."""
        return self.ctx.run(self.conn() + args, password=self.password, **kw)


def mailboxes_with_equal_uids(ctx: "Ctx", tag: str, count: int) -> tuple[Mailbox, Mailbox]:
    """Two fresh mailboxes of count messages each whose UIDs are the same (Dovecot's UIDs and
    UIDVALIDITY agree when both are first opened in the same second): retried until they are."""
    for attempt in range(6):
        a = ctx.mailbox([], f"{tag}a{attempt}")
        b = ctx.mailbox([], f"{tag}b{attempt}")
        a.deliver([message(f"{tag}-{attempt}-a{i}", body=f"a{i} of {tag}\n" * 20) for i in range(count)])
        b.deliver([message(f"{tag}-{attempt}-b{i}", body=f"b{i} of {tag}\n" * 20) for i in range(count)])
        if a.uids == b.uids:
            return a, b
    raise Failure(f"could not make two Dovecot mailboxes with equal UIDs in 6 tries "
                  f"(last: {a.uids[:3]}... and {b.uids[:3]}...)")


def is_root() -> bool:
    return os.geteuid() == 0


# --------------------------------------------------------------------------- the context

class Ctx:
    def __init__(self, mailwrench: str, fixture_dir: Path, scratch: Path):
        self.bin = mailwrench
        self.dir = fixture_dir
        self.env = json.loads((fixture_dir / "env.json").read_text())
        self.expected = json.loads((fixture_dir / "expected.json").read_text())
        self.scratch = scratch
        self.home = scratch / "home"
        self.home.mkdir(mode=0o700)
        self._n = 0

    # ---- fixture data
    def password(self, user: str) -> str:
        return self.env["users"][user]["password"]

    def box(self, user: str = "alice") -> dict:
        return self.expected["users"][user]

    def messages(self, user: str = "alice") -> list[dict]:
        return self.box(user)["messages"]

    def msg(self, number: int, user: str = "alice") -> dict:
        return self.messages(user)[number - 1]

    def tagged(self, tag: str, user: str = "alice") -> dict:
        found = [m for m in self.messages(user) if tag in m["tags"]]
        if len(found) != 1:
            raise Failure(f"fixture: {len(found)} messages tagged {tag!r}, expected one")
        return found[0]

    def file(self, name: str, content: str, mode: int = 0o600) -> Path:
        p = self.scratch / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
        os.chmod(p, mode)
        return p

    # ---- command lines
    def conn(self, mode: str = "pop3s", user: str | None = "alice", host: str | None = None,
             cacert: str | None = "ca") -> list[str]:
        """Connection options. mode: pop3s (implicit TLS), stls (STARTTLS on the POP3 port),
        plain (--tls none on the POP3 port; add --allow-plaintext yourself)."""
        e = self.env
        if mode == "pop3s":
            args = ["--tls", "implicit", "-p", str(e["pop3s_port"])]
        elif mode == "stls":
            args = ["--tls", "starttls", "-p", str(e["pop3_port"])]
        elif mode == "plain":
            args = ["--tls", "none", "-p", str(e["pop3_port"])]
        else:
            raise ValueError(mode)
        args = ["-H", host or e["host"]] + args
        if cacert == "ca":
            args += ["--cacert", e["ca"]]
        elif cacert:
            args += ["--cacert", cacert]
        if user:
            args += ["-u", user]
        return args + ["--timeout", "20"]

    def run(self, args: list[str], *, password: str | None = None, user: str | None = None,
            env: dict | None = None, home: Path | None = None, stdin: str | None = None,
            timeout: float = 45) -> Result:
        """Run mailwrench. password (or user's password if user is given) goes through
        MAILWRENCH_PASSWORD; pass neither to supply no password at all."""
        if password is None and user is not None:
            password = self.password(user)
        run_env = self.base_env(home)
        note = []
        if password is not None:
            run_env["MAILWRENCH_PASSWORD"] = password
            note.append("MAILWRENCH_PASSWORD=" + password)
        for k, v in (env or {}).items():
            if v is None:
                run_env.pop(k, None)
            else:
                run_env[k] = v
                note.append(f"{k}={v}")
        timeout *= self.slowness()
        argv = [self.bin] + args
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, input=stdin if stdin is not None else "", capture_output=True,
                               env=run_env, start_new_session=True, timeout=timeout, text=True, encoding="utf-8", errors="replace")
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
            fail(f"mailwrench did not finish within {timeout} s (killed)",
                 Result(argv, None, out, err, time.monotonic() - t0, " ".join(note)))
        return Result(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - t0, " ".join(note))

    def popen(self, args: list[str], *, password: str | None = None, env: dict | None = None):
        run_env = self.base_env(None)
        if password is not None:
            run_env["MAILWRENCH_PASSWORD"] = password
        run_env.update(env or {})
        return subprocess.Popen([self.bin] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=run_env, start_new_session=True, text=True, errors="replace")

    def base_env(self, home: Path | None) -> dict:
        home = home or self.home
        keep = ("PATH", "TZ", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MSAN_OPTIONS")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.update({
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
        })
        return env

    def fresh_home(self) -> Path:
        self._n += 1
        h = self.scratch / f"home{self._n}"
        h.mkdir(mode=0o700)
        return h

    # ---- fresh mailboxes (for scenarios that change one)
    def mailbox(self, messages: list[bytes], tag: str = "m") -> Mailbox:
        """A new POP3 user with these messages; see Mailbox. Any user whose name starts with the
        fixture's scratch prefix logs in with the scratch password (dovecot_fixture.py)."""
        if not is_root():
            raise Skip("creating a mailbox needs root (the Maildir belongs to uid 8)")
        scratch = self.env.get("scratch_users")
        if not scratch:
            raise Failure("the running fixture has no scratch users: restart it (dovecot_fixture.py)")
        _USER_SEQ[0] += 1
        tag = re.sub(r"[^a-z0-9]", "", tag.lower())[:16] or "m"
        user = f"{scratch['prefix']}{tag}-{os.getpid()}-{_USER_SEQ[0]}"
        home = self.dir / "mail" / user
        md = home / "Maildir"
        for p in (home, md, md / "cur", md / "new", md / "tmp"):
            p.mkdir(mode=0o700)
            os.chown(p, MAIL_UID, MAIL_GID)
        box = Mailbox(self, user, scratch["password"], md)
        if messages:
            box.deliver(messages)
        return box

    def run_raw(self, args: list[str], *, password: str | None = None, stdin: bytes = b"",
                timeout: float = 45, env: dict | None = None) -> tuple[Result, bytes]:
        """Like run(), but stdout is returned as bytes too (Result.stdout is its lossy text)."""
        run_env = self.base_env(None)
        if password is not None:
            run_env["MAILWRENCH_PASSWORD"] = password
        run_env.update(env or {})
        argv = [self.bin] + args
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, input=stdin, capture_output=True, env=run_env, start_new_session=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired as e:
            fail(f"mailwrench did not finish within {timeout} s (killed)",
                 Result(argv, None, (e.stdout or b"")[:4000].decode(errors="replace"),
                        (e.stderr or b"").decode(errors="replace"), time.monotonic() - t0))
        res = Result(argv, p.returncode, p.stdout[:20000].decode("utf-8", "replace"),
                     p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)
        return res, p.stdout

    def run_bytes(self, args: list[str], *, password: str | None = None, tty: bool = False,
                  timeout: float = 40) -> tuple[Result, bytes, bytes]:
        """Runs mailwrench with stdout on a pipe, or on a pseudo-terminal in raw mode (no LF ->
        CRLF translation) when tty; returns the Result and stdout and stderr as the exact bytes
        written (Result.stdout is their first 20000 octets, as text)."""
        run_env = self.base_env(None)
        if password is not None:
            run_env["MAILWRENCH_PASSWORD"] = password
        argv = [self.bin] + args
        t0 = time.monotonic()
        if not tty:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=run_env,
                               timeout=timeout)
            out, err, rc = p.stdout, p.stderr, p.returncode
        else:
            master, slave = pty.openpty()
            tty_mode.setraw(slave, termios.TCSANOW)
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                                 env=run_env)
            os.close(slave)
            chunks = []
            while True:
                ready, _, _ = select.select([master], [], [], 1.0)
                if ready:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        break
                    if not data:
                        break
                    chunks.append(data)
                elif p.poll() is not None:
                    break
                if time.monotonic() - t0 > timeout:
                    p.kill()
                    break
            os.close(master)
            err = p.stderr.read()
            rc = p.wait()
            out = b"".join(chunks)
        res = Result(argv, rc, out[:20000].decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                     time.monotonic() - t0)
        return res, out, err

    def slowness(self) -> float:
        """How much longer a run may take than the scenario says: 3 for a sanitizer build
        (ASan and UBSan make large transfers several times slower)."""
        if not hasattr(self, "_slowness"):
            self._slowness = 3.0 if b"__asan_init" in Path(self.bin).read_bytes() else 1.0
        return self._slowness

    def rss_checked(self, what: str) -> bool:
        """Whether a peak-RSS limit applies to this binary: not to an AddressSanitizer build,
        whose shadow memory and quarantine count in its RSS (it says so when not)."""
        if b"__asan_init" in Path(self.bin).read_bytes():
            print(f"  ({what}: AddressSanitizer build, the RSS limit is not checked)")
            return False
        return True

    def run_measured(self, args: list[str], *, password: str | None = None,
                     timeout: float = 50) -> tuple[Result, int]:
        """Runs mailwrench and returns (Result, its peak RSS in KiB). The peak is VmHWM of
        /proc/PID/status, read every 10 ms while it runs (VmHWM only grows, and it belongs to the
        process image that exec started). Not ru_maxrss from wait4()/RUSAGE_CHILDREN: Linux
        carries the RSS of the forking Python process over exec into it. stdout and stderr go
        through files, not pipes."""
        run_env = self.base_env(None)
        if password is not None:
            run_env["MAILWRENCH_PASSWORD"] = password
        timeout *= self.slowness()
        argv = [self.bin] + args
        out_path, err_path = self.scratch / "measured.out", self.scratch / "measured.err"
        t0 = time.monotonic()
        peak = 0
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=run_env,
                                 start_new_session=True)
            status_file = f"/proc/{p.pid}/status"
            while True:
                try:
                    with open(status_file) as st:
                        for line in st:
                            if line.startswith("VmHWM:"):
                                peak = max(peak, int(line.split()[1]))
                except (OSError, ValueError, IndexError):
                    pass
                if p.poll() is not None:
                    break
                if time.monotonic() - t0 > timeout:
                    p.kill()
                    p.wait()
                    fail(f"mailwrench did not finish within {timeout} s (killed)",
                         Result(argv, None, out_path.read_bytes()[:4000].decode(errors="replace"),
                                err_path.read_text(errors="replace"), time.monotonic() - t0))
                time.sleep(0.01)
        res = Result(argv, p.returncode, out_path.read_bytes()[:20000].decode("utf-8", "replace"),
                     err_path.read_text(errors="replace"), time.monotonic() - t0)
        return res, peak

    # ---- common expectations
    def expect_stat(self, res: Result, user: str = "alice", what: str = "stat"):
        expect_ok(res, what)
        b = self.box(user)
        eq(res.stdout.strip(), f"{b['count']} messages, {b['octets']} octets", f"{what}: plain output", res)

    def expect_stat_json(self, res: Result, user: str = "alice", what: str = "stat --json"):
        expect_ok(res, what)
        doc = res.json()
        b = self.box(user)
        check(isinstance(doc, dict), f"{what}: not a JSON object", res)
        eq({k: doc.get(k) for k in ("messages", "octets")}, {"messages": b["count"], "octets": b["octets"]},
           f"{what}: messages/octets", res)

    def expect_list_json(self, res: Result, numbers: list[int], user: str = "alice",
                         headers: bool = False, what: str = "list --json"):
        expect_ok(res, what)
        doc = res.json()
        check(isinstance(doc, dict) and isinstance(doc.get("messages"), list),
              f"{what}: expected an object with a 'messages' array", res)
        want = [self.msg(n, user) for n in numbers]
        got = doc["messages"]
        eq([m.get("number") for m in got], numbers, f"{what}: message numbers", res)
        for g, w in zip(got, want):
            eq({k: g.get(k) for k in ("number", "octets", "uid")},
               {k: w[k] for k in ("number", "octets", "uid")}, f"{what}: message {w['number']}", res)
            if headers:
                eq({k: g.get(k, "<missing>") for k in ("from", "subject", "date")},
                   {k: w[k] for k in ("from", "subject", "date")},
                   f"{what}: From/Subject/Date of message {w['number']}", res)
        eq(doc.get("count"), len(want), f"{what}: count", res)
        eq(doc.get("octets"), sum(w["octets"] for w in want), f"{what}: total octets", res)
        return doc

    def top_text(self, number: int, lines: int, user: str = "alice") -> str:
        m = self.msg(number, user)
        if lines > len(m["body_lines"]) and m["body_line_count"] > len(m["body_lines"]):
            raise Failure(f"fixture: expected.json holds only {len(m['body_lines'])} body lines")
        return m["header"] + "\n" + "".join(l + "\n" for l in m["body_lines"][:lines])


def transcript_has_secret(text: str, user: str, password: str) -> list[str]:
    """Forms of the password that must never appear: itself and the base64 payloads that carry it."""
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    forms = {
        "the password": password,
        "base64(password)": b64(password),
        "base64(PLAIN payload)": b64(f"\0{user}\0{password}"),
        "base64(PLAIN payload with authzid)": b64(f"{user}\0{user}\0{password}"),
    }
    return [name for name, f in forms.items() if f in text]


# --------------------------------------------------------------------------- main

def main():
    """Runs the scenarios and exits with the status ctest reads: it exits itself, so that a
    test file whose last line forgot sys.exit() cannot report its failures as passes."""
    sys.exit(_run())


def _run():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailwrench")
    ap.add_argument("--dir")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("scenarios", nargs="*")
    a = ap.parse_args()
    if a.list:
        print("\n".join(SCENARIOS))
        return 0
    if not a.mailwrench or not a.dir:
        ap.error("--mailwrench and --dir are required")
    d = Path(a.dir)
    if not (d / "env.json").exists() or not (d / "expected.json").exists():
        print(f"SKIP: the Dovecot fixture is not running ({d}/env.json missing: "
              "'integration: dovecot_start' was skipped or failed)")
        return SKIP
    if not os.access(a.mailwrench, os.X_OK):
        print(f"FAIL: mailwrench binary {a.mailwrench} does not exist or is not executable")
        return 1
    names = a.scenarios or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s) {unknown}; known: {list(SCENARIOS)}")
        return 64
    global _SECRETS
    env = json.loads((d / "env.json").read_text())
    _SECRETS = []
    for u, v in env["users"].items():
        pw = v["password"]
        marker = f"<password of {u}>"
        _SECRETS += [(pw, marker), (shlex.quote(pw), marker), (json.dumps(pw)[1:-1], marker)]
    if "scratch_users" in env:
        _SECRETS.append((env["scratch_users"]["password"], "<password of the scratch users>"))
    _SECRETS.sort(key=lambda s: -len(s[0]))

    failed, skipped = [], []
    for name in names:
        fn, args, kwargs = SCENARIOS[name]
        scratch = Path(tempfile.mkdtemp(prefix="mwt-"))
        t0 = time.monotonic()
        try:
            fn(Ctx(a.mailwrench, d, scratch), *args, **kwargs)
            print(f"PASS {name} ({time.monotonic() - t0:.1f} s)")
        except Skip as e:
            print(f"SKIP: {name}: {e}")
            skipped.append(name)
        except Failure as e:
            print(f"FAIL {name}: {e}")
            failed.append(name)
        except Exception:
            print(f"FAIL {name}: test error\n{redact(traceback.format_exc())}")
            failed.append(name)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        sys.stdout.flush()
    if failed:
        print(f"{len(failed)} of {len(names)} scenario(s) failed: {', '.join(failed)}")
        return 1
    if skipped and len(skipped) == len(names):
        return SKIP
    return 0
