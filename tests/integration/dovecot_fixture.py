#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Real-server fixture for the integration tests: a private Dovecot POP3 instance on loopback.

    dovecot_fixture.py start DIR     create DIR, certificates, users, maildirs; start Dovecot;
                                     check it with poplib; write DIR/env.json + DIR/expected.json
    dovecot_fixture.py stop DIR      stop that Dovecot (by its pid file, nothing else), remove DIR
    dovecot_fixture.py status DIR    print env.json and whether the master is alive

DIR must be short (unix socket paths live under it) and every component of it must be
searchable by unprivileged users (Dovecot's login/auth/mail processes run as dovenull,
dovecot and mail): /tmp/mw-itest-XXXX is what CMake passes.

Exit codes: 0 ok, 77 skipped (not root, Dovecot or openssl missing), 1 failure.

Layout of DIR:
    dovecot.conf  dovecot-users (passwd-file, {PLAIN})  env.json  expected.json
    ca.pem  other-ca.pem  tls/{ca.key,server.pem,server.key,server-chain.pem,other-ca.key}
    run/ (base_dir: master.pid, sockets)  state/  log/dovecot.log  mail/<user>/Maildir
Only the standard library is used.
"""
from __future__ import annotations

import base64
import datetime as dt
import email.header
import email.utils
import hashlib
import hmac
import json
import os
import poplib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

SKIP = 77
MAIL_UID = 8  # Debian's "mail" user and group
MAIL_GID = 8
ADDRS = ("127.0.0.1", "127.0.0.2")  # 127.0.0.2 is NOT in the certificate: the wrong-host-name case
GREETING = "mailwrench-test POP3 ready."
MECHANISMS_WANTED = ["plain", "login", "cram-md5", "scram-sha-256", "apop"]
USERS = {
    "alice": "alice-secret",
    "bob": "bob-secret",
    # Shell- and quoting-hostile on purpose: quote, space, $, double quote, backslash, !, #.
    "carol": "c'a r$o\"l\\!#",
}
MAX_DIR_LEN = 60
# Dovecot also listens on the IPv6 loopback address when this machine has one (env.json "ip6":
# "::1", or null): the IPv6 scenarios of test_network.py skip without it.
IPV6 = "::1"


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind((IPV6, 0))
        return True
    except OSError:
        return False


def listen_addrs() -> tuple[str, ...]:
    return ADDRS + ((IPV6,) if ipv6_loopback() else ())
# Scenarios that change a mailbox (fetch --delete, purge) create their own users while Dovecot runs
# (mwtest.Ctx.mailbox): any user named SCRATCH_PREFIX* logs in with SCRATCH_PASSWORD (a static
# passdb limited to those names), and the static userdb gives it a Maildir under mail/. No file
# is edited at run time: Dovecot re-reads a changed passwd-file at most once a second.
SCRATCH_PREFIX = "mw-"
SCRATCH_PASSWORD = "scratch-Pw.7"

poplib._MAXLINE = 1 << 20  # one message has a 100,000-character line


class FixtureError(Exception):
    pass


T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[dovecot-fixture {time.monotonic() - T0:5.1f}s] {msg}", flush=True)


def skip(reason: str) -> None:
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)


# --------------------------------------------------------------------------- small helpers

def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("timeout", 60)
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    try:
        return subprocess.run(cmd, **kw)
    except subprocess.CalledProcessError as e:
        raise FixtureError(f"{' '.join(cmd)} failed ({e.returncode}): "
                           f"{e.stderr.decode(errors='replace') if e.stderr else ''}") from e


def find_binary(name: str) -> str | None:
    extra = os.pathsep.join(["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    return shutil.which(name, path=os.environ.get("PATH", "") + os.pathsep + extra)


def instance_name(d: Path) -> str:
    return "mwtest-" + hashlib.md5(str(d).encode()).hexdigest()[:6]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def port_accepts(addr: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((addr, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_ports(n: int) -> list[int]:
    """n distinct TCP ports that are free on every address in ADDRS (bind port 0, read, close)."""
    held, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind((ADDRS[0], 0))
            port = s.getsockname()[1]
            held.append(s)
            ok = True
            for a in listen_addrs()[1:]:
                t = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
                try:
                    t.bind((a, port))
                except OSError:
                    ok = False
                finally:
                    t.close()
            if ok:
                ports.append(port)
    finally:
        for s in held:
            s.close()
    return ports


class session:
    """poplib.POP3/POP3_SSL as a context manager (QUIT on success, close always)."""

    def __init__(self, cls, *a, **kw):
        self.p = cls(*a, **kw)

    def __enter__(self):
        return self.p

    def __exit__(self, exc_type, *_):
        try:
            if exc_type is None:
                self.p.quit()
        finally:
            self.p.close()


def log_tail(d: Path, n: int = 40) -> str:
    out = []
    for name in ("log/dovecot.log", "log/dovecot-startup.log"):
        p = d / name
        if p.exists():
            lines = p.read_text(errors="replace").splitlines()[-n:]
            out.append(f"--- tail of {p} ---")
            out.extend(lines)
    return "\n".join(out) if out else "(no dovecot log)"


# --------------------------------------------------------------------------- TLS material

def make_tls(d: Path) -> None:
    tls = d / "tls"
    tls.mkdir(mode=0o755)
    openssl = find_binary("openssl")

    def req_ca(key: Path, cert: Path, cn: str) -> None:
        run([openssl, "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256",
             "-days", "3650", "-keyout", str(key), "-out", str(cert), "-subj", f"/O=mailwrench tests/CN={cn}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])

    req_ca(tls / "ca.key", d / "ca.pem", "mailwrench test CA")
    req_ca(tls / "other-ca.key", d / "other-ca.pem", "unrelated test CA")
    (tls / "server.ext").write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
    run([openssl, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tls / "server.key"),
         "-out", str(tls / "server.csr"), "-subj", "/O=mailwrench tests/CN=localhost"])
    run([openssl, "x509", "-req", "-in", str(tls / "server.csr"), "-CA", str(d / "ca.pem"),
         "-CAkey", str(tls / "ca.key"), "-CAcreateserial", "-days", "3650", "-sha256",
         "-extfile", str(tls / "server.ext"), "-out", str(tls / "server.pem")])
    (tls / "server-chain.pem").write_bytes((tls / "server.pem").read_bytes() + (d / "ca.pem").read_bytes())
    for k in ("ca.key", "other-ca.key", "server.key"):
        os.chmod(tls / k, 0o600)
    for c in (d / "ca.pem", d / "other-ca.pem", tls / "server.pem", tls / "server-chain.pem"):
        os.chmod(c, 0o644)


def fingerprint(cert: Path) -> str:
    out = run([find_binary("openssl"), "x509", "-noout", "-fingerprint", "-sha256", "-in", str(cert)]).stdout
    return out.decode().strip().split("=", 1)[1]  # "AB:CD:..."


# --------------------------------------------------------------------------- the mail

def rfc3339(d: dt.datetime | None) -> str | None:
    if d is None:
        return None
    return d.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def filler(target_octets: int, used: int, tag: str) -> list[str]:
    """Body lines of plain ASCII text so that the message reaches about target_octets (CRLF counted)."""
    lines, n = [], 0
    while used < target_octets:
        n += 1
        line = f"{tag} line {n:05d}: The quick brown fox jumps over the lazy dog, 0123456789."
        lines.append(line)
        used += len(line) + 2
    return lines


class Msg:
    def __init__(self, *, frm: str, subject: str, date: dt.datetime | None, mid: str,
                 body: list[str] | None = None, size: int | None = None, tags: list[str] | None = None,
                 frm_decoded: str | None = None, subject_decoded: str | None = None,
                 date_header: str | None = None, extra: list[str] | None = None,
                 crlf: bool = False, to: str = "alice@lab.test"):
        self.frm, self.subject, self.date, self.mid = frm, subject, date, mid
        self.frm_decoded = frm_decoded if frm_decoded is not None else frm
        self.subject_decoded = subject_decoded if subject_decoded is not None else " ".join(
            s.strip() for s in subject.split("\n"))
        self.tags = tags or []
        self.crlf = crlf
        self.header_lines = [f"From: {frm}", f"To: {to}"] + subject_header_lines(subject)
        if date is not None:
            self.date_header = date_header or email.utils.format_datetime(date)
            self.header_lines.append(f"Date: {self.date_header}")
        else:
            self.date_header = None
        self.header_lines += [f"Message-ID: {mid}", "MIME-Version: 1.0"]
        self.header_lines += extra or ["Content-Type: text/plain; charset=us-ascii"]
        self.body = list(body or [])
        if size is not None:
            self.body += filler(size, self.octets(), mid.strip("<>").split("@")[0])

    def text(self) -> str:
        return "".join(l + "\n" for l in self.header_lines) + "\n" + "".join(l + "\n" for l in self.body)

    def stored_bytes(self) -> bytes:
        t = self.text()
        if self.crlf:
            t = t.replace("\n", "\r\n")
        return t.encode("utf-8")

    def octets(self) -> int:
        """Size as POP3 LIST reports it: every line ends in CRLF."""
        return len(self.text().replace("\n", "\r\n").encode("utf-8"))


def subject_header_lines(subject: str) -> list[str]:
    # A "\n" in the subject means: fold here (the next line starts with a space).
    parts = subject.split("\n")
    return [f"Subject: {parts[0]}"] + [p for p in parts[1:]]


def tz(h: int, m: int = 0) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=h, minutes=m if h >= 0 else -m))


def mailboxes(now: dt.datetime) -> dict[str, list[Msg]]:
    """The messages of every user, in the order their maildir files are named (= Dovecot's order)."""
    d = "mailwrench.test"
    recent = lambda **kw: (now - dt.timedelta(**kw)).replace(microsecond=0).astimezone(tz(2))
    alice = [
        Msg(frm="Alice Sender <alice.sender@example.org>", subject="Small hello",
            date=dt.datetime(2015, 3, 14, 9, 26, 53, tzinfo=tz(1)), mid=f"<a01.small@{d}>",
            body=["Hi Alice,", "", "just a short note.", "-- ", "A."], tags=["small"]),
        Msg(frm="=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>",
            frm_decoded="Jürgen Müller <juergen@example.de>",
            subject="=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=", subject_decoded="Grüße aus Köln",
            date=dt.datetime(2016, 7, 1, 18, 0, 0, tzinfo=tz(2)), mid=f"<a02.utf8@{d}>",
            extra=["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"],
            body=["Hallo Alice,", "", "viele Grüße aus Köln am Rhein.", "Jürgen"], tags=["utf8"]),
        Msg(frm="Dot Stuffer <dots@example.com>", subject="Lines that start with dots",
            date=dt.datetime(2017, 1, 2, 3, 4, 5, tzinfo=tz(-5)), mid=f"<a03.dots@{d}>",
            body=[".", "..", ".leading dot", "..two leading dots", "...", "middle . dot", ". space after dot",
                  "", "end"], tags=["dots"]),
        Msg(frm="Reports <reports@lists.example.net>",
            subject="Quarterly Report for the\n second quarter of 2019, folded\n over three lines",
            subject_decoded="Quarterly Report for the second quarter of 2019, folded over three lines",
            date=dt.datetime(2019, 7, 15, 8, 30, 0, tzinfo=tz(0)), mid=f"<a04.folded@{d}>",
            body=["Numbers attached.", ""], size=1500, tags=["folded", "lists"]),
        Msg(frm="Long Liner <longline@example.com>", subject="One line of 100000 characters",
            date=dt.datetime(2018, 2, 28, 23, 59, 59, tzinfo=tz(-8)), mid=f"<a05.longline@{d}>",
            body=["The next line has 100000 characters:", ("0123456789" * 10000), "That was it."],
            tags=["longline"]),
        Msg(frm="Windows Mailer <crlf@example.com>", subject="Stored with CRLF line endings",
            date=dt.datetime(2014, 11, 11, 11, 11, 11, tzinfo=tz(1)), mid=f"<a06.crlf@{d}>",
            body=["This message is stored on disk with CRLF line endings.", ""], size=2500,
            crlf=True, tags=["crlf"]),
        Msg(frm="Big Sender <big@example.com>", subject="A big message of about 200 KB",
            date=dt.datetime(2013, 5, 5, 5, 5, 5, tzinfo=tz(5, 30)), mid=f"<a07.big@{d}>",
            body=["Lots of lines follow.", ""], size=210_000, tags=["big"]),
        Msg(frm="List One <one@lists.example.net>", subject="Weekly digest 1",
            date=dt.datetime(2012, 1, 9, 7, 0, 0, tzinfo=tz(0)), mid=f"<a08.list1@{d}>",
            date_header="Mon, 9 Jan 2012 07:00:00 +0000 (UTC)",
            body=["Digest 1"], size=3000, tags=["lists"]),
        Msg(frm="Cafe <cafe@example.fr>", subject="=?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?4pyT?=",
            subject_decoded="Café✓",
            date=dt.datetime(2011, 6, 6, 12, 0, 0, tzinfo=tz(2)), mid=f"<a09.charsets@{d}>",
            body=["Two encoded words, two charsets."], size=800, tags=["charsets"]),
        Msg(frm="List Two <two@lists.example.net>", subject="Weekly digest 2",
            date=dt.datetime(2012, 1, 16, 7, 0, 0, tzinfo=tz(0)), mid=f"<a10.list2@{d}>",
            body=["Digest 2"], size=5000, tags=["lists"]),
        Msg(frm="Bob Example <bob@lab.test>", subject="Re: lunch?",
            date=dt.datetime(2010, 10, 10, 10, 10, 10, tzinfo=tz(-3)), mid=f"<a11.lunch@{d}>",
            body=["> lunch?", "", "Sure, noon."], tags=["small"]),
        Msg(frm="Invoices <billing@shop.example>", subject="Your invoice 2009-0042",
            date=dt.datetime(2009, 4, 1, 16, 45, 0, tzinfo=tz(1)), mid=f"<a12.invoice@{d}>",
            body=["Invoice attached (not really)."], size=10_000),
        Msg(frm="Newsletter <news@example.com>", subject="Newsletter: spring edition",
            date=dt.datetime(2008, 3, 21, 6, 0, 0, tzinfo=tz(1)), mid=f"<a13.news@{d}>",
            body=["Spring is here."], size=20_000),
        Msg(frm="Archive <archive@example.com>", subject="Old archive export",
            date=dt.datetime(2001, 9, 8, 1, 46, 40, tzinfo=tz(0)), mid=f"<a14.archive@{d}>",
            body=["Exported."], size=50_000),
        Msg(frm="Travel <travel@example.com>", subject="Your itinerary",
            date=dt.datetime(2020, 2, 29, 14, 0, 0, tzinfo=tz(9)), mid=f"<a15.travel@{d}>",
            body=["Flight at 10:00."], size=1200),
        Msg(frm="System <root@example.com>", subject="Cron <root@host> backup",
            date=dt.datetime(2007, 12, 31, 23, 0, 0, tzinfo=tz(-1)), mid=f"<a16.cron@{d}>",
            body=["backup ok"], size=600),
        Msg(frm="List Three <three@lists.example.net>", subject="Weekly digest 3",
            date=dt.datetime(2012, 1, 23, 7, 0, 0, tzinfo=tz(0)), mid=f"<a17.list3@{d}>",
            body=["Digest 3"], size=7000, tags=["lists"]),
        Msg(frm="Recent One <recent1@example.com>", subject="Three days ago",
            date=recent(days=3), mid=f"<a18.recent3d@{d}>", body=["Sent three days ago."],
            size=900, tags=["recent"]),
        Msg(frm="Recent Two <recent2@example.com>", subject="Five hours ago",
            date=recent(hours=5), mid=f"<a19.recent5h@{d}>", body=["Sent five hours ago."],
            size=1800, tags=["recent"]),
        Msg(frm="Recent Three <recent3@example.com>", subject="One hour ago",
            date=recent(hours=1), mid=f"<a20.recent1h@{d}>", body=["Sent an hour ago."],
            size=4000, tags=["recent"]),
    ]
    bob = [
        Msg(frm="Alice Example <alice@lab.test>", subject="Hello Bob", to="bob@lab.test",
            date=dt.datetime(2021, 5, 4, 12, 0, 0, tzinfo=tz(0)), mid=f"<b01.hello@{d}>",
            body=["Hi Bob!"]),
        Msg(frm="No Date <nodate@example.com>", subject="A message without a Date header",
            to="bob@lab.test", date=None, mid=f"<b02.nodate@{d}>", body=["No Date: header here."],
            tags=["nodate"]),
        Msg(frm="Carol <carol@lab.test>", subject="Minutes", to="bob@lab.test",
            date=dt.datetime(2022, 8, 1, 9, 15, 0, tzinfo=tz(2)), mid=f"<b03.minutes@{d}>",
            body=["The minutes."], size=2500),
    ]
    carol = [
        Msg(frm="Bob Example <bob@lab.test>", subject="Welcome, Carol", to="carol@lab.test",
            date=dt.datetime(2023, 1, 1, 0, 0, 0, tzinfo=tz(0)), mid=f"<c01.welcome@{d}>",
            body=["Welcome aboard."]),
    ]
    return {"alice": alice, "bob": bob, "carol": carol}


def check_decoding(m: Msg) -> None:
    """Cross-check the hand-written decoded values with Python's RFC 2047 decoder."""
    for raw, want in ((m.frm, m.frm_decoded), (" ".join(s.strip() for s in m.subject.split("\n")), m.subject_decoded)):
        got = str(email.header.make_header(email.header.decode_header(raw)))
        if got != want:
            raise FixtureError(f"fixture bug: {raw!r} decodes to {got!r}, spec says {want!r}")


def write_maildirs(d: Path, boxes: dict[str, list[Msg]], base_time: int) -> None:
    mail = d / "mail"
    mail.mkdir(mode=0o755)
    os.chown(mail, MAIL_UID, MAIL_GID)
    t = base_time
    for user, msgs in boxes.items():
        home = mail / user
        md = home / "Maildir"
        for p in (home, md, md / "cur", md / "new", md / "tmp"):
            p.mkdir(mode=0o700)
            os.chown(p, MAIL_UID, MAIL_GID)
        for i, m in enumerate(msgs):
            check_decoding(m)
            t += 60
            # Maildir name "<secs>.M<usecs>P<pid>.<host>": strictly increasing times make the order
            # unambiguous; the first half goes to cur/ (seen), the rest to new/.
            base = f"{t}.M{i:06d}P{os.getpid()}.mwtest"
            tmp = md / "tmp" / base
            tmp.write_bytes(m.stored_bytes())
            os.chown(tmp, MAIL_UID, MAIL_GID)
            os.chmod(tmp, 0o600)
            os.utime(tmp, (t, t))
            dest = md / "cur" / f"{base}:2,S" if i < len(msgs) // 2 else md / "new" / base
            os.rename(tmp, dest)


# --------------------------------------------------------------------------- Dovecot config

LMTP_BINARY = "/usr/lib/dovecot/lmtp"  # dovecot-lmtpd


def lmtp_config(d: Path, lmtp_port: int | None) -> str:
    """An LMTP listener (send --lmtp, test_probe.py) when dovecot-lmtpd is installed: on
    127.0.0.1:lmtp_port and the Unix socket run/lmtp, delivering into the same Maildirs. A
    recipient is its local part (user@lab.test is user); one the passdbs do not know is refused
    at RCPT (the static userdb asks them). Nothing else changes for POP3."""
    if lmtp_port is None:
        return ""
    return f"""\
service lmtp {{
  inet_listener lmtp {{
    address = {ADDRS[0]}
    port = {lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0666
  }}
}}
protocol lmtp {{
  auth_username_format = %Ln
}}
"""


def write_config(d: Path, pop3_port: int, pop3s_port: int, mechanisms: list[str],
                 lmtp_port: int | None = None) -> None:
    users = "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in USERS.items())
    for p in USERS.values():
        if ":" in p or "\n" in p:
            raise FixtureError("passwd-file passwords may not contain ':' or newlines")
    (d / "dovecot-users").write_text(users)
    shutil.chown(d / "dovecot-users", "root", "dovecot")
    os.chmod(d / "dovecot-users", 0o640)
    addrs = ", ".join(listen_addrs())
    (d / "dovecot.conf").write_text(f"""\
# generated by tests/integration/dovecot_fixture.py — removed by "dovecot_fixture.py stop"
instance_name = {instance_name(d)}
base_dir = {d}/run
state_dir = {d}/state
protocols = pop3{" lmtp" if lmtp_port else ""}
listen = {addrs}
log_path = {d}/log/dovecot.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
auth_verbose = yes
verbose_proctitle = yes

ssl = yes
ssl_cert = <{d}/tls/server-chain.pem
ssl_key = <{d}/tls/server.key
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2

disable_plaintext_auth = no
auth_mechanisms = {" ".join(mechanisms)}
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {MAIL_UID}
first_valid_gid = {MAIL_GID}
login_greeting = {GREETING}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/dovecot-users
}}
passdb {{
  driver = static
  args = password={SCRATCH_PASSWORD}
  username_filter = {SCRATCH_PREFIX}*
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_GID} home={d}/mail/%u
}}
mail_location = maildir:~/Maildir

protocol pop3 {{
  pop3_uidl_format = %08Xu%08Xv
  mail_max_userip_connections = 100
}}

service pop3-login {{
  inet_listener pop3 {{
    address = {addrs}
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    address = {addrs}
    port = {pop3s_port}
    ssl = yes
  }}
}}
service pop3 {{
  process_limit = 200
  # The default 256 MB is not enough for a mailbox of a million messages (bench --scale-1m):
  # Dovecot's pop3 process dies with "Out of memory" at LIST.
  vsz_limit = 2G
}}
# The tests fail logins on purpose; without this, anvil's auth penalty would slow every
# later login from 127.0.0.1 down to 15 s. (Dovecot's documented way to turn it off.)
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
""" + lmtp_config(d, lmtp_port) + postfix_auth_listener())


# ---- for postfix_fixture.py (SMTP AUTH of the send tests goes through Dovecot's auth service)

def postfix_auth_listener() -> str:
    """The auth socket run/auth-postfix that the Postfix fixture's smtpd asks (smtpd_sasl_type =
    dovecot), when Postfix is installed (its user must exist, or Dovecot refuses the config)."""
    try:
        import pwd
        pwd.getpwnam("postfix")
    except KeyError:
        return ""
    return """\
# Postfix (postfix_fixture.py) checks SMTP AUTH passwords through this socket.
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
"""


def stop_postfix(d: Path) -> None:
    """A Postfix fixture keeps its queue under d/postfix: stop it (by PID) before d goes away."""
    if (d / "postfix").exists():
        import postfix_fixture
        try:
            postfix_fixture.stop_instance(d)
        except postfix_fixture.FixtureError as e:
            raise FixtureError(f"stopping the Postfix fixture: {e}") from e


# --------------------------------------------------------------------------- start / stop

def master_pid(d: Path) -> int | None:
    p = d / "run" / "master.pid"
    try:
        pid = int(p.read_text().strip())
    except (OSError, ValueError):
        return None
    # Only ever signal a Dovecot that was started with THIS config file.
    if pid_alive(pid) and f"-c {d}/dovecot.conf" in cmdline(pid):
        return pid
    return None


def instance_leftovers(d: Path) -> list[int]:
    """Processes of this instance (their titles start with "dovecot-<instance>/" or name the config)."""
    inst = instance_name(d)
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        c = cmdline(int(p.name))
        if "dovecot_fixture.py" in c:
            continue
        if c.startswith(f"dovecot-{inst}/") or c.startswith(f"dovecot-{inst} ") or f"-c {d}/dovecot.conf" in c:
            pids.append(int(p.name))
    return pids


def stop_instance(d: Path, quiet: bool = False) -> None:
    ports = []
    try:
        env = json.loads((d / "env.json").read_text())
        ports = [env["pop3_port"], env["pop3s_port"]]
    except (OSError, ValueError, KeyError):
        try:
            ports = json.loads((d / "ports.json").read_text())
        except (OSError, ValueError):
            pass
    pid = master_pid(d)
    if pid:
        if not quiet:
            log(f"stopping dovecot master pid {pid}")
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not pid_alive(pid):
                break
            time.sleep(0.1)
        else:
            log(f"dovecot {pid} still alive after 10 s, sending KILL")
            os.kill(pid, signal.SIGKILL)
    # Children of this instance that outlive their master (normally none): wait, then end by PID.
    for i in range(50):
        left = instance_leftovers(d)
        busy = [p for p in ports for a in ADDRS if port_accepts(a, p, 0.2)]
        if not left and not busy:
            break
        if i == 30:
            for lp in left:
                log(f"ending leftover {cmdline(lp)[:60]!r} (pid {lp})")
                try:
                    os.kill(lp, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        time.sleep(0.1)
    else:
        raise FixtureError(f"instance processes {instance_leftovers(d)} or ports {ports} still busy")


def check_dir(d: Path) -> None:
    if len(str(d)) > MAX_DIR_LEN:
        raise FixtureError(f"DIR {d} is too long ({len(str(d))} > {MAX_DIR_LEN} chars): unix socket paths")
    p = d.parent
    while True:
        if not p.exists():
            raise FixtureError(f"{p} does not exist")
        if not (p.stat().st_mode & 0o001):
            raise FixtureError(f"{p} is not searchable by others (o+x): Dovecot's processes could not "
                               f"reach {d}; use a directory under /tmp")
        if p == p.parent:
            break
        p = p.parent


def start(d: Path) -> None:
    if os.geteuid() != 0:
        skip("the Dovecot fixture needs root (mail processes run as uid 8)")
    dovecot = find_binary("dovecot")
    if not dovecot or not os.path.exists("/usr/lib/dovecot/pop3"):
        skip("Dovecot is not installed (apt-get install dovecot-core dovecot-pop3d)")
    if not find_binary("openssl"):
        skip("openssl is not installed")
    check_dir(d)
    if d.exists():
        log(f"{d} exists: stopping whatever of it still runs, then starting afresh")
        stop_postfix(d)
        stop_instance(d, quiet=True)
        shutil.rmtree(d)
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    for sub in ("run", "state", "log"):
        (d / sub).mkdir(mode=0o755)

    make_tls(d)
    now = dt.datetime.now(dt.timezone.utc)
    boxes = mailboxes(now)
    write_maildirs(d, boxes, base_time=1_600_000_000)
    pop3_port, pop3s_port, lmtp_port = free_ports(3)
    if not os.path.exists(LMTP_BINARY):
        log(f"NOTE: {LMTP_BINARY} is missing (apt-get install dovecot-lmtpd): no LMTP listener")
        lmtp_port = None
    (d / "ports.json").write_text(json.dumps([pop3_port, pop3s_port]))

    mechanisms = list(MECHANISMS_WANTED)
    write_config(d, pop3_port, pop3s_port, mechanisms, lmtp_port)
    r = run([find_binary("doveconf"), "-c", str(d / "dovecot.conf"), "-n"], check=False)
    if r.returncode != 0:
        raise FixtureError(f"doveconf rejects the generated config:\n{r.stderr.decode(errors='replace')}")
    (d / "log" / "doveconf-n.txt").write_bytes(r.stdout)
    log(f"starting dovecot: POP3 {pop3_port} (STLS), POP3S {pop3s_port} on {', '.join(listen_addrs())}")
    launch(d, dovecot, pop3_port, pop3s_port)
    try:
        bad = rejected_mechanisms(d, pop3_port)
        while bad:
            for m in bad:
                log(f"NOTE: this Dovecot does not accept {m.upper()}; dropped from auth_mechanisms")
            mechanisms = [m for m in mechanisms if m not in bad]
            stop_instance(d, quiet=True)
            if (d / "log" / "dovecot.log").exists():
                os.replace(d / "log" / "dovecot.log", d / "log" / "dovecot-probe.log")
            write_config(d, pop3_port, pop3s_port, mechanisms, lmtp_port)
            launch(d, dovecot, pop3_port, pop3s_port)
            bad = [m for m in rejected_mechanisms(d, pop3_port) if m in mechanisms]
    except BaseException:
        print(log_tail(d), file=sys.stderr)
        stop_instance(d, quiet=True)
        raise
    try:
        expected = verify(d, pop3_port, pop3s_port, boxes, mechanisms)
        if lmtp_port:
            verify_lmtp(d, lmtp_port)
    except BaseException:
        print(log_tail(d), file=sys.stderr)
        stop_instance(d, quiet=True)
        raise
    pid = master_pid(d)
    (d / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False))
    env = {
        "dir": str(d),
        "instance": instance_name(d),
        "host": "localhost",
        "ip": ADDRS[0],
        "wrong_ip": ADDRS[1],
        "ip6": IPV6 if IPV6 in listen_addrs() else None,
        "pop3_port": pop3_port,
        "pop3s_port": pop3s_port,
        "ca": str(d / "ca.pem"),
        "other_ca": str(d / "other-ca.pem"),
        "server_cert": str(d / "tls" / "server.pem"),
        "server_fingerprint_sha256": fingerprint(d / "tls" / "server.pem"),
        "other_fingerprint_sha256": fingerprint(d / "other-ca.pem"),
        "users": {u: {"password": p} for u, p in USERS.items()},
        "scratch_users": {"prefix": SCRATCH_PREFIX, "password": SCRATCH_PASSWORD},
        "mechanisms": mechanisms,
        "apop": "apop" in mechanisms,
        "dovecot_pid": pid,
        "dovecot_log": str(d / "log" / "dovecot.log"),
        "generated_at": rfc3339(now),
        "greeting": GREETING,
    }
    if lmtp_port:
        env["lmtp_port"] = lmtp_port
        env["lmtp_socket"] = str(d / "run" / "lmtp")
    (d / "env.json").write_text(json.dumps(env, indent=1))
    log(f"ready: dovecot pid {pid}; {d}/env.json, {d}/expected.json")


def launch(d: Path, dovecot: str, pop3_port: int, pop3s_port: int) -> None:
    with open(d / "log" / "dovecot-startup.log", "ab") as out:
        # The master keeps its stdio open: detach it from ours.
        r = subprocess.run([dovecot, "-c", str(d / "dovecot.conf")], stdin=subprocess.DEVNULL,
                           stdout=out, stderr=out, timeout=60)
    if r.returncode != 0:
        raise FixtureError(f"dovecot failed to start (exit {r.returncode})\n{log_tail(d)}")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if all(port_accepts(a, p) for a in listen_addrs() for p in (pop3_port, pop3s_port)):
            return
        time.sleep(0.1)
    tail = log_tail(d)
    stop_instance(d, quiet=True)
    raise FixtureError(f"dovecot did not start listening on {ADDRS} ports {pop3_port}/{pop3s_port}\n{tail}")


def rejected_mechanisms(d: Path, pop3_port: int) -> list[str]:
    """Which of MECHANISMS_WANTED the running Dovecot does not accept. doveconf checks only the
    syntax; the auth process refuses unknown mechanisms when it starts. So look at the log, at
    CAPA's SASL line and at the greeting (APOP needs its timestamp)."""
    logf = d / "log" / "dovecot.log"

    def unknown_in_log() -> set[str]:
        text = logf.read_text(errors="replace") if logf.exists() else ""
        return {m.lower() for m in re.findall(r"[Uu]nknown authentication mechanism '([\w-]+)'", text)}

    try:
        with session(poplib.POP3, ADDRS[0], pop3_port, timeout=10) as p:
            welcome = p.getwelcome().decode(errors="replace")
            try:
                capa = p.capa()
            except poplib.error_proto:
                capa = {}
    except (poplib.error_proto, OSError):
        time.sleep(0.5)
        unknown = unknown_in_log()
        if unknown:  # the auth process died on them: the others are checked after the restart
            return sorted(unknown)
        raise
    offered = [m.lower() for m in capa.get("SASL", [])]
    unknown = unknown_in_log()
    configured = re.findall(r"^auth_mechanisms = (.*)$", (d / "dovecot.conf").read_text(), re.M)[0].split()
    bad = []
    for m in configured:
        if m in unknown:
            bad.append(m)
        elif m == "apop":
            if not re.search(r"<[^<>]+>", welcome):
                bad.append(m)
        elif m not in offered:
            bad.append(m)
    if bad and len(bad) == len(configured):
        raise FixtureError(f"no SASL mechanism works (CAPA SASL {offered}); log:\n{log_tail(d)}")
    return bad


# --------------------------------------------------------------------------- verification with poplib

def client_ctx(ca: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = True
    return ctx


def sasl_auth(p: poplib.POP3, mech: str, user: str, pw: str) -> None:
    """A reference client for each mechanism, so that a failing mailwrench test can be blamed on
    mailwrench and not on the server set-up."""
    b64 = lambda b: base64.b64encode(b).decode()
    unb64 = lambda r: base64.b64decode(r.decode().split(" ", 1)[1] if b" " in r else "")

    def step(line: str) -> bytes:
        p._putcmd(line)
        return p._getresp()  # raises error_proto on -ERR

    if mech == "user":
        p.user(user)
        p.pass_(pw)
    elif mech == "apop":
        p.apop(user, pw)
    elif mech == "plain":
        step("AUTH PLAIN " + b64(f"\0{user}\0{pw}".encode()))
    elif mech == "login":
        step("AUTH LOGIN")
        step(b64(user.encode()))
        step(b64(pw.encode()))
    elif mech == "cram-md5":
        chal = unb64(step("AUTH CRAM-MD5"))
        step(b64(f"{user} {hmac.new(pw.encode(), chal, 'md5').hexdigest()}".encode()))
    elif mech == "scram-sha-256":
        cnonce = base64.b64encode(os.urandom(18)).decode()
        name = user.replace("=", "=3D").replace(",", "=2C")
        first_bare = f"n={name},r={cnonce}"
        server_first = unb64(step("AUTH SCRAM-SHA-256 " + b64(("n,," + first_bare).encode()))).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        if not attrs["r"].startswith(cnonce):
            raise FixtureError("SCRAM: server nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha256", pw.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c={b64(b'n,,')},r={attrs['r']}"
        auth_msg = f"{first_bare},{server_first},{without_proof}".encode()
        sig = hmac.new(stored_key, auth_msg, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_final = unb64(step("" + b64(f"{without_proof},p={b64(proof)}".encode()))).decode()
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        if server_final != "v=" + b64(hmac.new(server_key, auth_msg, "sha256").digest()):
            raise FixtureError(f"SCRAM: bad server signature {server_final!r}")
        step("")
    else:
        raise FixtureError(f"no reference client for {mech}")


def verify(d: Path, pop3_port: int, pop3s_port: int, boxes: dict[str, list[Msg]],
           mechanisms: list[str]) -> dict:
    ca = d / "ca.pem"
    expected: dict = {"users": {}}
    # Only scratch users log in with the scratch password: alice must not (else the authentication
    # scenarios would be void), nor a scratch user with another one. Each refusal takes Dovecot's
    # auth_failure_delay (2 s), so these run in the background while the rest is verified.
    leaks: list[str] = []

    def refused(user: str, pw: str) -> None:
        try:
            with session(poplib.POP3, ADDRS[0], pop3_port, timeout=20) as p:
                p.user(user)
                try:
                    p.pass_(pw)
                except poplib.error_proto:
                    return
                leaks.append(f"{user} logged in with a wrong password: the scratch passdb leaks")
        except (OSError, poplib.error_proto) as e:
            leaks.append(f"checking that {user} is refused: {e}")

    leak_checks = [threading.Thread(target=refused, args=a, daemon=True)
                   for a in (("alice", SCRATCH_PASSWORD), (SCRATCH_PREFIX + "fixture-check", "wrong"))]
    for t in leak_checks:
        t.start()
    for user, msgs in boxes.items():
        pw = USERS[user]
        with session(poplib.POP3, ADDRS[0], pop3_port, timeout=20) as p:
            welcome = p.getwelcome().decode()
            if GREETING not in welcome:
                raise FixtureError(f"unexpected greeting {welcome!r}")
            p.user(user)
            p.pass_(pw)
            count, octets = p.stat()
            if count != len(msgs) or octets != sum(m.octets() for m in msgs):
                raise FixtureError(f"{user}: STAT says {count} {octets}, generated "
                                   f"{len(msgs)} {sum(m.octets() for m in msgs)}")
            sizes = {int(n): int(s) for n, s in (l.decode().split() for l in p.list()[1])}
            uids = {int(n): u for n, u in (l.decode().split() for l in p.uidl()[1])}
            by_mid = {m.mid: m for m in msgs}
            entries = []
            for n in range(1, count + 1):
                head = [l.decode("utf-8") for l in p.top(n, 0)[1]]
                mids = [l.split(":", 1)[1].strip() for l in head if l.lower().startswith("message-id:")]
                if len(mids) != 1 or mids[0] not in by_mid:
                    raise FixtureError(f"{user} #{n}: cannot identify message from its header {head!r}")
                m = by_mid.pop(mids[0])
                if head != m.header_lines + [""]:
                    raise FixtureError(f"{user} #{n}: TOP {n} 0 gave {head!r}, expected {m.header_lines!r}")
                if sizes[n] != m.octets():
                    raise FixtureError(f"{user} #{n}: LIST size {sizes[n]} != computed {m.octets()}")
                nb = min(len(m.body), 12)
                top = [l.decode("utf-8") for l in p.top(n, nb)[1]]
                if top[len(m.header_lines) + 1:] != m.body[:nb]:
                    raise FixtureError(f"{user} #{n}: TOP {n} {nb} body differs: "
                                       f"{[x[:80] for x in top[len(m.header_lines) + 1:]]!r} "
                                       f"!= {[x[:80] for x in m.body[:nb]]!r}")
                entries.append({
                    "number": n,
                    "octets": sizes[n],
                    "uid": uids[n],
                    "from": m.frm_decoded,
                    "from_raw": m.frm,
                    "subject": m.subject_decoded,
                    "subject_raw": " ".join(s.strip() for s in m.subject.split("\n")),
                    "date": rfc3339(m.date),
                    "date_raw": m.date_header,
                    "message_id": m.mid,
                    "header": "".join(l + "\n" for l in m.header_lines),
                    "header_lines": len(m.header_lines),
                    "body_lines": m.body[:20],
                    "body_line_count": len(m.body),
                    "stored_with_crlf": m.crlf,
                    "tags": m.tags,
                })
            order = [e["message_id"] for e in entries]
            if order != [m.mid for m in msgs]:
                log(f"NOTE: Dovecot numbered {user}'s messages {order} (not the file order); "
                    "expected.json follows Dovecot")
            expected["users"][user] = {
                "password": pw,
                "count": count,
                "octets": octets,
                "messages": entries,
            }
        # POP3S with certificate + host name verification, and STLS on the plain port.
        with session(poplib.POP3_SSL, "localhost", pop3s_port, timeout=20, context=client_ctx(ca)) as p:
            p.user(user)
            p.pass_(pw)
            if p.stat() != (expected["users"][user]["count"], expected["users"][user]["octets"]):
                raise FixtureError(f"{user}: POP3S STAT differs")
        with session(poplib.POP3, ADDRS[0], pop3_port, timeout=20) as p:
            p.stls(context=client_ctx(ca))
            p.user(user)
            p.pass_(pw)
            if p.stat()[0] != expected["users"][user]["count"]:
                raise FixtureError(f"{user}: STLS STAT differs")
    # Every mechanism works for every user (over STLS, as a careful client would use them).
    for user, pw in USERS.items():
        for mech in ["user"] + mechanisms:
            with session(poplib.POP3, ADDRS[0], pop3_port, timeout=20) as p:
                p.stls(context=client_ctx(ca))
                try:
                    sasl_auth(p, mech, user, pw)
                except poplib.error_proto as e:
                    raise FixtureError(f"reference {mech} login as {user} failed: {e}") from e
                if p.stat()[0] != expected["users"][user]["count"]:
                    raise FixtureError(f"{user}: STAT after {mech} differs")
    # Scratch users log in with the scratch password (checked in the background, see above).
    for t in leak_checks:
        t.join(30)
    if leaks:
        raise FixtureError("; ".join(leaks))
    with session(poplib.POP3, ADDRS[0], pop3_port, timeout=20) as p:
        p.user(SCRATCH_PREFIX + "fixture-check")
        p.pass_(SCRATCH_PASSWORD)
        if p.stat()[0] != 0:
            raise FixtureError("a new scratch user's mailbox is not empty")
    shutil.rmtree(d / "mail" / (SCRATCH_PREFIX + "fixture-check"), ignore_errors=True)
    # 127.0.0.2 is not in the certificate: a verifying client must refuse it.
    try:
        with session(poplib.POP3_SSL, ADDRS[1], pop3s_port, timeout=20, context=client_ctx(ca)):
            pass
        raise FixtureError(f"TLS to {ADDRS[1]} was accepted: the wrong-host-name test would be void")
    except ssl.SSLCertVerificationError:
        pass
    expected["generated_by"] = "tests/integration/dovecot_fixture.py"
    return expected


def verify_lmtp(d: Path, lmtp_port: int) -> None:
    """LHLO on the LMTP port and the socket, and RCPT refused for a user nobody knows, accepted
    for one the passdb knows (so that test_probe.py's per-recipient scenario means something)."""
    import smtplib
    for where in ((ADDRS[0], lmtp_port), (str(d / "run" / "lmtp"), 0)):
        with smtplib.LMTP(*where, timeout=20) as s:
            code, _ = s.ehlo("fixture.lab.test")  # smtplib.LMTP sends LHLO
            if code != 250:
                raise FixtureError(f"LMTP {where}: LHLO answered {code}")
            s.mail("fixture@lab.test")
            code, text = s.rcpt("nobody-here@lab.test")
            if code < 500:
                raise FixtureError(f"LMTP {where}: RCPT of an unknown user answered {code} {text!r}")
            code, text = s.rcpt("alice@lab.test")
            if code != 250:
                raise FixtureError(f"LMTP {where}: RCPT alice@lab.test answered {code} {text!r}")
            s.rset()


def stop(d: Path) -> None:
    if not d.exists():
        log(f"{d} does not exist: nothing to stop")
        return
    if os.geteuid() != 0:
        skip("the Dovecot fixture needs root (mail processes run as uid 8)")
    stop_postfix(d)
    stop_instance(d)
    shutil.rmtree(d)
    log(f"stopped and removed {d}")


def status(d: Path) -> int:
    pid = master_pid(d)
    print(f"dir: {d}\nmaster pid: {pid or 'not running'}\nleftovers: {instance_leftovers(d)}")
    if (d / "env.json").exists():
        print((d / "env.json").read_text())
    return 0 if pid else 1


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("start", "stop", "status"):
        print(__doc__, file=sys.stderr)
        return 64
    d = Path(os.path.abspath(argv[2]))
    try:
        if argv[1] == "start":
            start(d)
        elif argv[1] == "stop":
            stop(d)
        else:
            return status(d)
    except FixtureError as e:
        print(f"FIXTURE ERROR: {e}", file=sys.stderr)
        return 1
    except (OSError, poplib.error_proto, ssl.SSLError, subprocess.SubprocessError) as e:
        print(f"FIXTURE ERROR: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
