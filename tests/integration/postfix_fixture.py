#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Real-server fixture for the `send` integration tests: a private Postfix instance on loopback
that delivers into the Maildirs the Dovecot fixture (dovecot_fixture.py) serves.

    postfix_fixture.py start DIR     DIR is a running Dovecot fixture's directory: add the send
                                     users, write DIR/postfix/{main.cf,master.cf,maps}, start
                                     `postfix -c DIR/postfix`, check it with smtplib + poplib,
                                     add the SMTP keys to DIR/env.json
    postfix_fixture.py stop DIR      stop that Postfix (by the PID in its pid file, nothing else),
                                     remove DIR/postfix (DIR itself belongs to the Dovecot fixture)
    postfix_fixture.py status DIR    whether its master is alive, and the SMTP keys of env.json

Exit codes: 0 ok, 77 skipped (not root, Postfix not installed, Dovecot fixture not running),
1 failure. The Postfix packages: preseed "postfix postfix/main_mailer_type select No
configuration" (debconf-set-selections) and apt-get install postfix (policy-rc.d exit 101 keeps
Debian's own instance from starting; /etc/postfix/main.cf is neither needed nor read).

What runs (every port free, picked at start; on 127.0.0.1 and 127.0.0.2, which is not in the
certificate, for the wrong-host-name case):
    smtp_port        submission: STARTTLS offered, AUTH only after it (smtpd_tls_auth_only),
                     mail only from authenticated clients           (log name postfix/submission)
    smtps_port       implicit TLS (smtpd_tls_wrappermode), AUTH, mail only when authenticated
                                                                    (log name postfix/smtps)
    smtp_plain_port  no STARTTLS at all, AUTH offered in clear text, mail to lab.test without
                     AUTH (for "STARTTLS not offered" and --tls none)  (log name postfix/plain)
AUTH through Dovecot's auth socket DIR/run/auth-postfix (smtpd_sasl_type = dovecot): the
mechanisms are Dovecot's auth_mechanisms (minus APOP, which is not SASL), recorded in env.json.

Addresses (virtual_mailbox_domains = lab.test, delivered by virtual(8) as uid/gid 8 into
DIR/mail/<user>/Maildir, the Maildir Dovecot serves):
    <user>@lab.test for alice, bob, carol (the read-only mailboxes: tests must not send to them),
    and the send users s01..sNN (passwords in env.json "send_users"; their mailboxes exist for
    the send tests). (Not the users mwtest.Ctx.mailbox() adds later: virtual(8) refuses $1
    substitution in a regexp map, and a texthash map is read once per process.)
    nobody@lab.test  does not exist: 550 5.1.1 at RCPT
    defer@lab.test   450 4.2.0 at RCPT (check_recipient_access)
    senders (MAIL FROM) with a scripted fate, see SENDER_FATES: refused or deferred at MAIL, at
    DATA, or after the message (end of DATA); and a header "X-Mailwrench-Test: reject" makes
    cleanup refuse the message with 550 5.7.1 after DATA.
Nothing can leave the machine: default/relay/local transports are error:, DNS is off, and
recipients outside lab.test are refused at RCPT (authenticated or not).

Layout under DIR/postfix: conf/ (MAIL_CONFIG: main.cf master.cf vmailbox *_access header_checks)
spool/ (queue_directory, pid/master.pid) data/; the log is DIR/log/postfix.log (one line per
event, each smtpd line tagged with its port's log name, e.g. "postfix/plain/smtpd[123]: ...").
Only the standard library is used.
"""
from __future__ import annotations

import base64
import email.utils
import fcntl
import grp
import hashlib
import hmac
import json
import os
import poplib
import pwd
import re
import select
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dovecot_fixture as dv  # noqa: E402  (shared helpers: ports, TLS files, users, skip)

SKIP = 77
DOMAIN = "lab.test"
SEND_USERS = [f"s{i:02d}" for i in range(1, 61)]
PROBE_USER = "s00"  # the fixture's own checks deliver here; no test uses it
UNKNOWN_RCPT = f"nobody@{DOMAIN}"
DEFER_RCPT = f"defer@{DOMAIN}"
DEFER_REPLY = "450 4.2.0 try again later"
# MAIL FROM address -> (where Postfix answers, reply). smtpd_delay_reject = no, so the MAIL
# stage really answers MAIL FROM (not the first RCPT).
SENDER_FATES = {
    "mail-reject@example.org": ("mail", "553 5.7.1 sender refused by the test server"),
    "mail-defer@example.org": ("mail", "451 4.7.1 sender deferred by the test server"),
    "data-reject@example.org": ("data", "554 5.7.1 refused at DATA by the test server"),
    "data-defer@example.org": ("data", "451 4.7.1 deferred at DATA by the test server"),
    "eod-reject@example.org": ("eod", "550 5.7.1 refused after the message by the test server"),
    "eod-defer@example.org": ("eod", "452 4.3.1 deferred after the message by the test server"),
}
REJECT_HEADER = "X-Mailwrench-Test: reject"
REJECT_HEADER_REPLY = "550 5.7.1 message refused by the test server's header check"
BANNER_TEXT = "ESMTP mailwrench-test"
LOG_NAMES = {"smtp_port": "postfix/submission", "smtps_port": "postfix/smtps",
             "smtp_plain_port": "postfix/plain"}
DELIVERY_TIMEOUT = 20.0

log_prefix = "postfix-fixture"
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{log_prefix} {time.monotonic() - T0:5.1f}s] {msg}", flush=True)


class FixtureError(Exception):
    pass


def pf_dir(d: Path) -> Path:
    return d / "postfix"


def conf_dir(d: Path) -> Path:
    """config_directory (= MAIL_CONFIG). Not the parent of the queue: postfix-script would then
    find the queue's postfix-owned directories in it and warn about each."""
    return d / "postfix" / "conf"


# --------------------------------------------------------------------------- running postfix(1)

def postfix_cmd(d: Path, *args: str, timeout: float = 60) -> tuple[int, str]:
    """Runs `postfix -c DIR/postfix ARGS`. postfix(1) reports errors only to syslog (there is
    none) unless stderr is a terminal, so it gets a pseudo-terminal and we read what it says."""
    master, slave = os.openpty()
    try:
        p = subprocess.Popen([dv.find_binary("postfix"), "-c", str(conf_dir(d)), *args],
                             stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, start_new_session=True)
    finally:
        os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer closed its end
                    chunk = b""
                if not chunk and p.poll() is not None:
                    break
                out += chunk
            elif p.poll() is not None:
                break
            if time.monotonic() > deadline:
                p.kill()
                raise FixtureError(f"postfix {' '.join(args)} did not finish within {timeout} s")
    finally:
        os.close(master)
    rc = p.wait()
    return rc, out.decode(errors="replace").replace("\r", "")


def master_pid(d: Path) -> int | None:
    """The PID of THIS instance's master (its pid file; the process must carry our MAIL_CONFIG)."""
    try:
        pid = int((pf_dir(d) / "spool" / "pid" / "master.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if dv.pid_alive(pid) and our_process(d, pid) else None


def our_process(d: Path, pid: int) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"MAIL_CONFIG={conf_dir(d)}".encode() in environ


def leftovers(d: Path) -> list[int]:
    me = os.getpid()
    return [int(p.name) for p in Path("/proc").iterdir()
            if p.name.isdigit() and int(p.name) != me and our_process(d, int(p.name))]


def ports_of(d: Path) -> list[int]:
    try:
        return json.loads((pf_dir(d) / "ports.json").read_text())
    except (OSError, ValueError):
        return []


def stop_instance(d: Path, quiet: bool = False) -> None:
    """Ends this instance: SIGTERM to its master (which ends its process group), then any
    process still carrying our MAIL_CONFIG, each by PID. Never anything else."""
    pid = master_pid(d)
    if pid:
        if not quiet:
            log(f"stopping postfix master pid {pid}")
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not dv.pid_alive(pid):
                break
            time.sleep(0.1)
        else:
            log(f"postfix master {pid} still alive after 10 s, sending KILL")
            os.kill(pid, signal.SIGKILL)
    ports = ports_of(d)
    for i in range(60):
        left = leftovers(d)
        busy = [p for p in ports for a in dv.ADDRS if dv.port_accepts(a, p, 0.2)]
        if not left and not busy:
            return
        if i == 30:
            for lp in left:
                log(f"ending leftover {dv.cmdline(lp)[:60]!r} (pid {lp})")
                try:
                    os.kill(lp, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        time.sleep(0.1)
    raise FixtureError(f"postfix processes {leftovers(d)} or ports {ports} still busy")


# --------------------------------------------------------------------------- configuration

def write_config(d: Path, ports: dict[str, int]) -> None:
    pf, conf = pf_dir(d), conf_dir(d)
    users = ["alice", "bob", "carol", PROBE_USER] + SEND_USERS + ["defer"]
    (conf / "vmailbox").write_text("".join(f"{u}@{DOMAIN} {u}/Maildir/\n" for u in users))
    (conf / "recipient_access").write_text(f"{DEFER_RCPT} {DEFER_REPLY}\n")
    for stage, name in (("mail", "sender_access"), ("data", "data_access"), ("eod", "eod_access")):
        (conf / name).write_text("".join(f"{a} {reply}\n" for a, (s, reply) in SENDER_FATES.items()
                                       if s == stage))
    code, text = REJECT_HEADER_REPLY.split(" ", 1)
    name, value = REJECT_HEADER.split(": ", 1)
    (conf / "header_checks").write_text(f"/^{name}:[ \\t]*{value}/ REJECT {text.split(' ', 1)[1]}\n")
    (conf / "main.cf").write_text(f"""\
# generated by tests/integration/postfix_fixture.py; a separate instance: postfix -c {conf} start
compatibility_level = 3.6
queue_directory = {pf}/spool
data_directory = {pf}/data
mail_owner = postfix
setgid_group = postdrop
# postlogd writes the log (there is no syslog); the file must be under maillog_file_prefixes.
maillog_file_prefixes = {d}/log
maillog_file = {d}/log/postfix.log

myhostname = mail.{DOMAIN}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = {dv.ADDRS[0]}
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
biff = no
append_dot_mydomain = no
smtpd_peername_lookup = no
smtpd_client_port_logging = yes
# Leave the headers of SMTP mail as the client wrote them (from 127.0.0.1 Postfix would otherwise
# add a missing Date/Message-ID and rewrite addresses): the tests check what mailwrench sends.
local_header_rewrite_clients =
smtp_dns_support_level = disabled
in_flow_delay = 0
smtpd_error_sleep_time = 0
delay_warning_time = 0

# Nothing ever leaves this machine: only virtual(8) delivers, everything else is an error.
default_transport = error:the mailwrench test server sends nothing out
relay_transport = error:the mailwrench test server sends nothing out
local_transport = error:the mailwrench test server has no local delivery
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = texthash:{conf}/vmailbox
virtual_uid_maps = static:{dv.MAIL_UID}
virtual_gid_maps = static:{dv.MAIL_GID}
virtual_minimum_uid = {dv.MAIL_UID}
virtual_mailbox_limit = 0
mailbox_size_limit = 0
message_size_limit = 52428800

smtpd_banner = $myhostname {BANNER_TEXT}
smtpd_tls_cert_file = {d}/tls/server-chain.pem
smtpd_tls_key_file = {d}/tls/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {d}/run/auth-postfix
smtpd_sasl_authenticated_header = yes
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous

# Answer every stage when it happens (MAIL FROM refusals at MAIL, not at the first RCPT).
smtpd_delay_reject = no
smtpd_sender_restrictions = check_sender_access texthash:{conf}/sender_access
# Recipients outside {DOMAIN} are refused at RCPT, even for authenticated clients.
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:{conf}/recipient_access,
    reject_unlisted_recipient, reject_unauth_destination
smtpd_data_restrictions = check_sender_access texthash:{conf}/data_access
smtpd_end_of_data_restrictions = check_sender_access texthash:{conf}/eod_access
header_checks = regexp:{conf}/header_checks
""")
    services = []
    for key, opts in (
            ("smtp_port", ["smtpd_relay_restrictions=reject_unauth_destination,permit_sasl_authenticated,reject"]),
            ("smtps_port", ["smtpd_tls_wrappermode=yes", "smtpd_tls_security_level=encrypt",
                            "smtpd_relay_restrictions=reject_unauth_destination,permit_sasl_authenticated,reject"]),
            ("smtp_plain_port", ["smtpd_tls_security_level=none", "smtpd_tls_auth_only=no"])):
        for addr in dv.ADDRS:
            services.append(f"{addr}:{ports[key]} inet n - n - - smtpd\n"
                            + "".join(f"  -o {o}\n" for o in [f"syslog_name={LOG_NAMES[key]}"] + opts))
    (conf / "master.cf").write_text(
        "# generated by tests/integration/postfix_fixture.py (no chroot)\n" + "".join(services) + """\
pickup    unix  n  -  n  60    1  pickup
cleanup   unix  n  -  n  -     0  cleanup
qmgr      unix  n  -  n  300   1  qmgr
tlsmgr    unix  -  -  n  1000? 1  tlsmgr
rewrite   unix  -  -  n  -     -  trivial-rewrite
bounce    unix  -  -  n  -     0  bounce
defer     unix  -  -  n  -     0  bounce
trace     unix  -  -  n  -     0  bounce
verify    unix  -  -  n  -     1  verify
flush     unix  n  -  n  1000? 0  flush
proxymap  unix  -  -  n  -     -  proxymap
proxywrite unix -  -  n  -     1  proxymap
showq     unix  n  -  n  -     -  showq
error     unix  -  -  n  -     -  error
retry     unix  -  -  n  -     -  error
discard   unix  -  -  n  -     -  discard
virtual   unix  -  n  n  -     -  virtual
anvil     unix  -  -  n  -     1  anvil
scache    unix  -  -  n  -     1  scache
postlog   unix-dgram n -  n  -     1  postlogd
""")


def add_users(d: Path, names: list[str]) -> dict[str, dict]:
    """Maildirs (owned by mail) and Dovecot passwd-file lines for the send users, under the same
    lock that mwtest._add_user takes. Dovecot re-reads the file when it changes."""
    out = {}
    lines = ""
    for u in names:
        pw = f"{u}-" + os.urandom(8).hex()
        home = d / "mail" / u
        md = home / "Maildir"
        for p in (home, md, md / "cur", md / "new", md / "tmp"):
            p.mkdir(mode=0o700, exist_ok=True)
            os.chown(p, dv.MAIL_UID, dv.MAIL_GID)
        lines += f"{u}:{{PLAIN}}{pw}::::::\n"
        out[u] = {"password": pw, "address": f"{u}@{DOMAIN}", "maildir": str(md)}
    users = d / "dovecot-users"
    with open(d / "dovecot-users.mwlock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        st = users.stat()
        kept = [l for l in users.read_text().splitlines(keepends=True)
                if l.split(":", 1)[0] not in names]
        tmp = d / f"dovecot-users.tmp{os.getpid()}"
        tmp.write_text("".join(kept) + lines)
        os.chown(tmp, st.st_uid, st.st_gid)
        os.chmod(tmp, st.st_mode & 0o7777)
        os.rename(tmp, users)
    return out


def update_env(d: Path, extra: dict | None, drop: list[str] | None = None) -> None:
    """Adds keys to (or removes them from) the Dovecot fixture's env.json, atomically."""
    p = d / "env.json"
    env = json.loads(p.read_text())
    for k in drop or []:
        env.pop(k, None)
    env.update(extra or {})
    tmp = d / f"env.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(env, indent=1))
    os.chmod(tmp, 0o644)
    os.rename(tmp, p)


ENV_KEYS = ["smtp_host", "smtp_port", "smtps_port", "smtp_plain_port", "smtp_mechanisms", "smtp_domain",
            "smtp_unknown_rcpt", "smtp_defer_rcpt", "smtp_defer_reply", "smtp_sender_fates",
            "smtp_reject_header", "send_users", "postfix_pid", "postfix_log", "postfix_log_names",
            "smtp_banner"]


# --------------------------------------------------------------------------- reading what Postfix did

def maildir_files(maildir: Path) -> list[Path]:
    return [p for sub in ("new", "cur") for p in sorted((maildir / sub).iterdir()) if p.is_file()]


def find_delivered(maildir: Path, needle: bytes, timeout: float = DELIVERY_TIMEOUT) -> Path | None:
    """Polls maildir (new/ and cur/) until a message containing needle (e.g. its Message-ID
    header line) shows up; None after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        for p in maildir_files(maildir):
            try:
                if needle in p.read_bytes():
                    return p
            except FileNotFoundError:  # moved new/ -> cur/ by a POP3 session meanwhile
                continue
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def log_lines(d: Path, since: int = 0) -> tuple[list[str], int]:
    """Lines of the Postfix log from byte offset since, and the new end offset."""
    try:
        with open(d / "log" / "postfix.log", "rb") as f:
            f.seek(since)
            data = f.read()
    except FileNotFoundError:
        return [], since
    end = since + len(data)
    if not data.endswith(b"\n"):  # a line still being written: leave it for the next call
        cut = data.rfind(b"\n") + 1
        data, end = data[:cut], since + cut
    return data.decode(errors="replace").splitlines(), end


def log_offset(d: Path) -> int:
    try:
        return (d / "log" / "postfix.log").stat().st_size
    except FileNotFoundError:
        return 0


# --------------------------------------------------------------------------- checking it with smtplib

class Scram:
    """SCRAM-SHA-256 for smtplib.SMTP.auth (a reference client, as in dovecot_fixture.sasl_auth)."""

    def __init__(self, user: str, pw: str):
        self.user, self.pw, self.step = user, pw, 0
        self.cnonce = base64.b64encode(os.urandom(18)).decode()

    def __call__(self, challenge: bytes | None = None) -> str:
        b64 = lambda b: base64.b64encode(b).decode()
        if challenge is None and self.step == 0:
            self.step = 1
            self.first_bare = f"n={self.user.replace('=', '=3D').replace(',', '=2C')},r={self.cnonce}"
            return "n,," + self.first_bare
        if self.step == 1:
            self.step = 2
            server_first = challenge.decode()
            attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
            if not attrs["r"].startswith(self.cnonce):
                raise FixtureError("SCRAM: server nonce does not extend ours")
            salted = hashlib.pbkdf2_hmac("sha256", self.pw.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
            client_key = hmac.new(salted, b"Client Key", "sha256").digest()
            without_proof = f"c={b64(b'n,,')},r={attrs['r']}"
            self.auth_msg = f"{self.first_bare},{server_first},{without_proof}".encode()
            sig = hmac.new(hashlib.sha256(client_key).digest(), self.auth_msg, "sha256").digest()
            self.server_key = hmac.new(salted, b"Server Key", "sha256").digest()
            return f"{without_proof},p={b64(bytes(a ^ b for a, b in zip(client_key, sig)))}"
        want = "v=" + b64(hmac.new(self.server_key, self.auth_msg, "sha256").digest())
        if (challenge or b"").decode() != want:
            raise FixtureError(f"SCRAM: bad server signature {challenge!r}")
        return ""


def smtp_login(s: smtplib.SMTP, mech: str, user: str, pw: str) -> None:
    s.user, s.password = user, pw
    mech = mech.upper()
    if mech == "SCRAM-SHA-256":
        s.auth(mech, Scram(user, pw), initial_response_ok=True)
    else:
        s.auth(mech, getattr(s, "auth_" + mech.lower().replace("-", "_")), initial_response_ok=True)


def mechanisms_of(s: smtplib.SMTP) -> list[str]:
    return [m.upper() for m in s.esmtp_features.get("auth", "").split()]


def verify(d: Path, ports: dict[str, int], users: dict[str, dict]) -> list[str]:
    ca = d / "ca.pem"
    ctx = dv.client_ctx(ca)
    host = "localhost"
    with smtplib.SMTP(timeout=20) as s:
        s._host = host  # for starttls()'s host name check (connect() does not set it)
        code, banner = s.connect(host, ports["smtp_port"])
        if code != 220 or BANNER_TEXT.encode() not in banner:
            raise FixtureError(f"unexpected greeting {code} {banner!r}")
        s.ehlo("fixture.example")
        if not s.has_extn("starttls"):
            raise FixtureError(f"submission port offers no STARTTLS: {s.esmtp_features}")
        if s.has_extn("auth"):
            raise FixtureError("submission port offers AUTH before STARTTLS (smtpd_tls_auth_only?)")
        s.starttls(context=ctx)
        s.ehlo("fixture.example")
        mechs = mechanisms_of(s)
    if not mechs:
        raise FixtureError(f"no AUTH after STARTTLS: is Dovecot's auth-postfix socket there?\n{log_tail(d)}")
    with smtplib.SMTP_SSL(host, ports["smtps_port"], timeout=20, context=ctx) as s:
        s.ehlo("fixture.example")
        if mechanisms_of(s) != mechs:
            raise FixtureError(f"SMTPS offers AUTH {mechanisms_of(s)}, submission {mechs}")
    with smtplib.SMTP(dv.ADDRS[0], ports["smtp_plain_port"], timeout=20) as s:
        s.ehlo("fixture.example")
        if s.has_extn("starttls"):
            raise FixtureError("the plain port offers STARTTLS")
        if mechanisms_of(s) != mechs:
            raise FixtureError(f"the plain port offers AUTH {mechanisms_of(s)} (expected {mechs} in clear)")
    # 127.0.0.2 is not in the certificate: a verifying client must refuse it.
    try:
        with smtplib.SMTP_SSL(dv.ADDRS[1], ports["smtps_port"], timeout=20, context=ctx):
            pass
        raise FixtureError(f"TLS to {dv.ADDRS[1]} was accepted: the wrong-host-name test would be void")
    except ssl.SSLCertVerificationError:
        pass

    probe = users[PROBE_USER]
    # Every mechanism with a reference client; a wrong password is refused with 535.
    for mech in mechs:
        with smtplib.SMTP(host, ports["smtp_port"], timeout=20) as s:
            s.starttls(context=ctx)
            s.ehlo("fixture.example")
            try:
                smtp_login(s, mech, PROBE_USER, probe["password"])
            except smtplib.SMTPException as e:
                raise FixtureError(f"reference AUTH {mech} as {PROBE_USER} failed: {e}\n{log_tail(d)}") from e
    with smtplib.SMTP(host, ports["smtp_port"], timeout=20) as s:
        s.starttls(context=ctx)
        s.ehlo("fixture.example")
        try:
            smtp_login(s, "PLAIN", PROBE_USER, "wrong-password")
            raise FixtureError("a wrong password was accepted")
        except smtplib.SMTPAuthenticationError as e:
            if e.smtp_code != 535:
                raise FixtureError(f"wrong password: {e.smtp_code} {e.smtp_error!r}, expected 535") from e

    # One message through every stage: refusals at RCPT as designed, delivery into the Maildir.
    mid = f"<probe.{os.getpid()}.{int(time.time())}@mailwrench.test>"
    msg = (f"From: {probe['address']}\r\nTo: {probe['address']}\r\nSubject: fixture probe\r\n"
           f"Message-ID: {mid}\r\nDate: {email.utils.formatdate()}\r\n\r\nprobe\r\n.starts with a dot\r\n")
    with smtplib.SMTP(host, ports["smtp_port"], timeout=20) as s:
        s.starttls(context=ctx)
        s.ehlo("fixture.example")
        # Unauthenticated: submission refuses the recipient.
        s.mail(probe["address"])
        code, text = s.rcpt(probe["address"])
        if code // 100 != 5:
            raise FixtureError(f"submission accepted a recipient without AUTH: {code} {text!r}")
        s.rset()
        smtp_login(s, "PLAIN", PROBE_USER, probe["password"])
        expect = {
            probe["address"]: (250, None),
            UNKNOWN_RCPT: (550, b"5.1.1"),
            DEFER_RCPT: (int(DEFER_REPLY[:3]), DEFER_REPLY[4:9].encode()),
            "someone@example.com": (554, b"5.7.1"),
        }
        s.mail(probe["address"])
        for rcpt, (want, enh) in expect.items():
            code, text = s.rcpt(rcpt)
            if code != want or (enh and not text.startswith(enh)):
                raise FixtureError(f"RCPT TO:<{rcpt}>: {code} {text!r}, expected {want} {enh}\n{log_tail(d)}")
        code, text = s.data(msg.encode())
        if code != 250:
            raise FixtureError(f"DATA: {code} {text!r}")
        for sender, (stage, reply) in SENDER_FATES.items():
            s.rset()
            code, text = s.mail(sender)
            if stage == "mail":
                if code != int(reply[:3]) or not text.startswith(reply[4:9].encode()):
                    raise FixtureError(f"MAIL FROM:<{sender}>: {code} {text!r}, expected {reply}")
                continue
            if code != 250:
                raise FixtureError(f"MAIL FROM:<{sender}>: {code} {text!r}")
            if s.rcpt(probe["address"])[0] != 250:
                raise FixtureError(f"RCPT after MAIL FROM:<{sender}> refused")
            if stage == "data":
                code, text = s.docmd("DATA")
            else:
                code, text = s.data(b"Subject: x\r\n\r\nx\r\n")
            if code != int(reply[:3]) or reply[4:9].encode() not in text:
                raise FixtureError(f"{stage} for <{sender}>: {code} {text!r}, expected {reply}")
    if not find_delivered(Path(probe["maildir"]), mid.encode()):
        raise FixtureError(f"the probe message was not delivered to {probe['maildir']} within "
                           f"{DELIVERY_TIMEOUT:.0f} s\n{log_tail(d)}")
    # ...and Dovecot serves it.
    env = json.loads((d / "env.json").read_text())
    with dv.session(poplib.POP3, dv.ADDRS[0], env["pop3_port"], timeout=20) as p:
        p.user(PROBE_USER)
        p.pass_(probe["password"])
        heads = [b"\n".join(p.top(n, 0)[1]) for n in range(1, p.stat()[0] + 1)]
        if not any(mid.encode() in h for h in heads):
            raise FixtureError("the probe message is in the Maildir but POP3 does not show it")
    return mechs


def log_tail(d: Path, n: int = 30) -> str:
    p = d / "log" / "postfix.log"
    if not p.exists():
        return "(no postfix log)"
    return f"--- tail of {p} ---\n" + "\n".join(p.read_text(errors="replace").splitlines()[-n:])


# --------------------------------------------------------------------------- start / stop

def start(d: Path) -> None:
    if os.geteuid() != 0:
        dv.skip("the Postfix fixture needs root (postfix(1) and virtual(8) deliveries as uid 8)")
    if not dv.find_binary("postfix") or not dv.find_binary("postconf"):
        dv.skip("Postfix is not installed (debconf: postfix/main_mailer_type 'No configuration'; "
                "apt-get install postfix)")
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError:
        dv.skip("the postfix user or postdrop group is missing (a broken Postfix installation)")
    if not (d / "env.json").exists() or not dv.master_pid(d):
        dv.skip(f"the Dovecot fixture is not running in {d} (integration: dovecot_start skipped or failed)")
    if not (d / "run" / "auth-postfix").exists():
        raise FixtureError(f"Dovecot has no {d}/run/auth-postfix socket: it was started before Postfix was "
                           "installed; restart the Dovecot fixture")
    pf = pf_dir(d)
    if pf.exists():
        log(f"{pf} exists: stopping whatever of it still runs, then starting afresh")
        stop_instance(d, quiet=True)
        shutil.rmtree(pf)
        update_env(d, None, drop=ENV_KEYS)
    pf.mkdir(mode=0o755)
    (pf / "spool").mkdir(mode=0o755)
    conf_dir(d).mkdir(mode=0o755)
    (pf / "data").mkdir(mode=0o700)
    shutil.chown(pf / "data", "postfix", "postfix")

    users = add_users(d, [PROBE_USER] + SEND_USERS)
    names = ["smtp_port", "smtps_port", "smtp_plain_port"]
    ports = dict(zip(names, dv.free_ports(3)))
    (pf / "ports.json").write_text(json.dumps(list(ports.values())))
    write_config(d, ports)
    rc, out = postfix_cmd(d, "check")
    if rc != 0:
        raise FixtureError(f"postfix check failed ({rc}):\n{out}\n{log_tail(d)}")
    log(f"starting postfix: submission {ports['smtp_port']} (STARTTLS), SMTPS {ports['smtps_port']}, "
        f"plain {ports['smtp_plain_port']} (no STARTTLS) on {', '.join(dv.ADDRS)}")
    rc, out = postfix_cmd(d, "start")
    if rc != 0:
        stop_instance(d, quiet=True)
        raise FixtureError(f"postfix start failed ({rc}):\n{out}\n{log_tail(d)}")
    try:
        deadline = time.monotonic() + 20
        while not all(dv.port_accepts(a, p) for a in dv.ADDRS for p in ports.values()):
            if time.monotonic() > deadline:
                raise FixtureError(f"postfix does not listen on {ports} ({out.strip()})\n{log_tail(d)}")
            time.sleep(0.1)
        mechs = verify(d, ports, users)
    except BaseException:
        stop_instance(d, quiet=True)
        raise
    pid = master_pid(d)
    update_env(d, {
        "smtp_host": "localhost",
        **ports,
        "smtp_mechanisms": [m.lower() for m in mechs],
        "smtp_domain": DOMAIN,
        "smtp_unknown_rcpt": UNKNOWN_RCPT,
        "smtp_defer_rcpt": DEFER_RCPT,
        "smtp_defer_reply": DEFER_REPLY,
        "smtp_sender_fates": {a: {"stage": s, "reply": r} for a, (s, r) in SENDER_FATES.items()},
        "smtp_reject_header": REJECT_HEADER,
        "smtp_banner": BANNER_TEXT,
        "send_users": {u: v for u, v in users.items() if u != PROBE_USER},
        "postfix_pid": pid,
        "postfix_log": str(d / "log" / "postfix.log"),
        "postfix_log_names": LOG_NAMES,
    })
    log(f"ready: postfix master pid {pid}; AUTH {' '.join(mechs)}; {len(SEND_USERS)} send users; "
        f"SMTP keys in {d}/env.json")


def stop(d: Path) -> None:
    if not pf_dir(d).exists():
        log(f"{pf_dir(d)} does not exist: nothing to stop")
        return
    if os.geteuid() != 0:
        dv.skip("the Postfix fixture needs root")
    stop_instance(d)
    shutil.rmtree(pf_dir(d))
    if (d / "env.json").exists():
        update_env(d, None, drop=ENV_KEYS)
    log(f"stopped postfix and removed {pf_dir(d)}")


def status(d: Path) -> int:
    pid = master_pid(d)
    print(f"dir: {pf_dir(d)}\nmaster pid: {pid or 'not running'}\nleftovers: {leftovers(d)}")
    try:
        env = json.loads((d / "env.json").read_text())
        print(json.dumps({k: env[k] for k in ENV_KEYS if k in env and k != "send_users"}, indent=1))
    except (OSError, ValueError):
        pass
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
    except (OSError, smtplib.SMTPException, poplib.error_proto, ssl.SSLError, subprocess.SubprocessError) as e:
        print(f"FIXTURE ERROR: {type(e).__name__}: {e}\n{log_tail(d)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
