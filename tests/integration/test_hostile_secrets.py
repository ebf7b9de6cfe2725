#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Secrets, the parts test_secrets.py, test_send.py and test_fetch.py do not cover yet, against
the scripted servers of tests/support (which check the credentials, so a clean transcript means
the secret was sent and hidden, not that it was never sent):

  - every SASL mechanism over SMTP at -vv (-v for those test_send.py does not run over a fake),
    XOAUTH2 and OAUTHBEARER over POP3 at -v and -vv, with a password full of quotes, braces,
    percent signs, backslashes and non-ASCII (format-string and quoting trouble)
  - a server that echoes the credentials back in its refusal: the error line and the --json
    error document must not repeat them
  - SMTP --json error documents after a refused AUTH
  - a --password-command that prints the password and fails: its output is not shown
  - /proc/PID/cmdline of a running send (password from a file, a command, the environment)
  - files created while a fetch is in flight, under umask 000: the state journal, the lock
    file, the Maildir's tmp/ file, the mbox and its dot-lock — 0600, directories 0700
  - --password-file readable by group or others: a warning naming the file and the mode
"""
from __future__ import annotations

import json
import os
import re
import stat
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_ok, fail, scenario  # noqa: E402
from sasl_server import SaslServer, SmtpMailer, b64  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer, multiline, on, pop3_wire, smtp_reply, stall  # noqa: E402

USER = "secret-user"
PASSWORD = "p{}a%s%n\"s'w\\o rd-✓-" + os.urandom(3).hex()
SEND = ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "x", "--body", "hello"]


def hide(password: str = PASSWORD):
    if all(s != password for s, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (password, "<the scenario's password>"))
        for escaped in {json.dumps(password)[1:-1], json.dumps(password, ensure_ascii=False)[1:-1]}:
            mw._SECRETS.insert(0, (escaped, "<the scenario's password, JSON-escaped>"))


def secret_forms(user: str, password: str) -> dict[str, str]:
    """Every form in which the password travels: itself and the base64 payloads carrying it."""
    return {
        "the password": password,
        "base64(password)": b64(password),
        "base64(PLAIN payload)": b64(f"\0{user}\0{password}"),
        "base64(PLAIN payload with authzid)": b64(f"{user}\0{user}\0{password}"),
        "base64(XOAUTH2 payload)": b64(f"user={user}\x01auth=Bearer {password}\x01\x01"),
        "the bearer token line": f"auth=Bearer {password}",
        "the password, JSON-escaped": json.dumps(password)[1:-1],
        "the password, JSON-escaped (UTF-8 kept)": json.dumps(password, ensure_ascii=False)[1:-1],
    }


def expect_no_secret(res: mw.Result, what: str, user: str = USER, password: str = PASSWORD):
    for stream, text in (("stdout", res.stdout), ("stderr", res.stderr)):
        found = [name for name, form in secret_forms(user, password).items() if form and form in text]
        eq(found, [], f"{what}: forms of the password in {stream}", res)


def pop3_server(sasl: SaslServer, **kw) -> ScriptedServer:
    box = Pop3Mailbox([mw.message("s1")], capa=["USER", "UIDL", "TOP", "RESP-CODES", sasl.capa_line()])
    return ScriptedServer([], fallback=[sasl, box], **kw)


def smtp_server(sasl: SaslServer, rules=(), **kw) -> ScriptedServer:
    mailer = SmtpMailer(ehlo=["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", sasl.capa_line()])
    return ScriptedServer(list(rules), greeting="220 fake.example ESMTP", fallback=[sasl, mailer],
                          unexpected="502 5.5.2 unexpected command", **kw)


def conn(srv: ScriptedServer, extra: list[str] = ()) -> list[str]:
    hide()
    return ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext", "-u", USER,
            "--timeout", "10", *extra]


# =========================================================================== transcripts

def transcript(ctx, protocol: str, mech: str, level: str):
    sasl = SaslServer(USER, PASSWORD, protocol=protocol)
    with (pop3_server(sasl) if protocol == "pop3" else smtp_server(sasl)) as srv:
        args = conn(srv, [level, "--auth", mech]) + (["--json", "stat"] if protocol == "pop3" else SEND)
        res = ctx.run(args, password=PASSWORD)
        srv.settle()
    what = f"{protocol.upper()} AUTH {mech.upper()} {level}"
    expect_ok(res, what)
    eq(sasl.successes, [mech.upper()], f"{what}: mechanisms the server accepted (the credentials arrived)", res)
    check(re.search(rf"\bAUTH\s+{re.escape(mech)}\b", res.stderr, re.I),
          f"{what}: the transcript does not show AUTH {mech.upper()}", res)
    expect_no_secret(res, what)


for _mech in ("plain", "login", "cram-md5", "scram-sha-256", "xoauth2", "oauthbearer"):
    mw.add(f"smtp_vv_{_mech}", transcript, "smtp", _mech, "-vv")
for _mech in ("cram-md5", "scram-sha-256", "xoauth2", "oauthbearer"):
    mw.add(f"smtp_v_{_mech}", transcript, "smtp", _mech, "-v")
for _mech in ("xoauth2", "oauthbearer"):
    mw.add(f"pop3_v_{_mech}", transcript, "pop3", _mech, "-v")
    mw.add(f"pop3_vv_{_mech}", transcript, "pop3", _mech, "-vv")
for _mech in ("plain", "scram-sha-256"):  # with the odd password (test_secrets.py has Dovecot's users)
    mw.add(f"pop3_vv_{_mech}", transcript, "pop3", _mech, "-vv")


# =========================================================================== error messages

def echoing_server(ctx, protocol: str, mech: str, as_json: bool):
    """The server refuses the login and quotes what it got (the whole AUTH line or PASS argument)
    in its refusal. mailwrench knows the secret and what it sent; the one error line (and the
    --json error document) must not carry it."""
    hide()
    if protocol == "pop3":
        capa = multiline("+OK", ["USER", "SASL PLAIN", "RESP-CODES"])
        rules = [on(r"CAPA", capa, times=None), on(r"USER (.*)", "+OK"),
                 on(r"PASS (.*)", f"-ERR [AUTH] invalid password {PASSWORD} for {USER}"),
                 on(r"AUTH PLAIN (.*)", f"-ERR [AUTH] bad credentials {b64(chr(0) + USER + chr(0) + PASSWORD)}")]
        srv = ScriptedServer(rules)
        args = conn(srv, ["--auth", "user" if mech == "user" else "plain"]) + ["stat"]
    else:
        ehlo = smtp_reply(250, "fake.example", "AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES")
        rules = [on(r"EHLO .*", ehlo, times=None),
                 on(r"AUTH PLAIN.*", f"535 5.7.8 bad credentials {b64(chr(0) + USER + chr(0) + PASSWORD)}"),
                 on(r"AUTH LOGIN.*", "334 VXNlcm5hbWU6"), on(re.escape(b64(USER)), "334 UGFzc3dvcmQ6"),
                 on(re.escape(b64(PASSWORD)), f"535 5.7.8 password {PASSWORD} is wrong"),
                 on(r"QUIT", "221 bye")]
        srv = ScriptedServer(rules, greeting="220 fake.example ESMTP", unexpected="502 5.5.2 unexpected")
        args = conn(srv, ["--auth", mech]) + SEND
    with srv:
        res = ctx.run((["--json"] if as_json else []) + args, password=PASSWORD)
        srv.settle()
    what = f"{protocol.upper()} {mech.upper()}: a refusal that quotes the credentials" + (" (--json)" if as_json else "")
    check(res.rc == 77, f"{what}: exit code {res.rc}, expected 77", res)
    check(len(res.stderr_lines) == 1 and mw.ERROR_LINE.match(res.stderr_lines[0]),
          f"{what}: stderr must be one 'mailwrench: error:' line", res)
    if as_json:
        err = res.json().get("error", {})
        eq(err.get("exit_code"), 77, f"{what}: error.exit_code", res)
    expect_no_secret(res, what)


for _proto, _mech in (("pop3", "user"), ("pop3", "plain"), ("smtp", "plain"), ("smtp", "login")):
    mw.add(f"{_proto}_{_mech}_refusal_quotes_credentials", echoing_server, _proto, _mech, False)
    mw.add(f"{_proto}_{_mech}_refusal_quotes_credentials_json", echoing_server, _proto, _mech, True)


def smtp_json_auth_refused(ctx, mech: str):
    """SMTP AUTH refused (535): the --json error document has kind, message, exit_code 77, and no
    form of the password."""
    sasl = SaslServer(USER, "not-the-password", protocol="smtp")
    with smtp_server(sasl) as srv:
        res = ctx.run(conn(srv, ["--json", "--auth", mech, "-v"]) + SEND, password=PASSWORD)
        srv.settle()
    what = f"send --json, AUTH {mech.upper()} refused"
    check(res.rc == 77, f"{what}: exit code {res.rc}, expected 77", res)
    err = res.json().get("error")
    check(isinstance(err, dict) and err.get("exit_code") == 77 and err.get("kind") and err.get("message"),
          f"{what}: stdout must be {{\"error\": {{kind, message, exit_code: 77}}}}", res)
    eq(sasl.failures, [mech.upper()], f"{what}: the server's record of the refused AUTH", res)
    expect_no_secret(res, what)


for _mech in ("plain", "login", "cram-md5", "scram-sha-256", "xoauth2"):
    mw.add(f"smtp_json_auth_refused_{_mech}", smtp_json_auth_refused, _mech)


def failing_password_command(ctx, protocol: str, as_json: bool):
    """A --password-command that prints the password (as `pass` does) and then exits 1: an
    error naming the command's failure, and neither the password nor the command's stdout."""
    hide()
    script = ctx.file("pw.sh", "#!/bin/sh\nprintf '%s\\n' \"$SECRET_FOR_TEST\"\nexit 1\n", 0o700)
    sasl = SaslServer(USER, PASSWORD, protocol=protocol)
    with (pop3_server(sasl) if protocol == "pop3" else smtp_server(sasl)) as srv:
        args = conn(srv, ["--password-command", str(script)]) + (["stat"] if protocol == "pop3" else SEND)
        res = ctx.run((["--json"] if as_json else []) + args, env={"SECRET_FOR_TEST": PASSWORD})
        srv.settle()
    what = f"{protocol.upper()}: a failing --password-command that printed the password" + (" (--json)" if as_json else "")
    check(res.rc in (78, 77, 69), f"{what}: exit code {res.rc}, expected 78 (configuration)", res)
    check(len(res.stderr_lines) == 1 and mw.ERROR_LINE.match(res.stderr_lines[0]) and
          re.search(r"password-command|password command", res.stderr_lines[0]),
          f"{what}: stderr must be one error line naming --password-command", res)
    eq(sasl.successes + sasl.failures, [], f"{what}: AUTH attempts with a password from a failed command", res)
    expect_no_secret(res, what)


for _proto in ("pop3", "smtp"):
    mw.add(f"{_proto}_failing_password_command", failing_password_command, _proto, False)
    mw.add(f"{_proto}_failing_password_command_json", failing_password_command, _proto, True)


# =========================================================================== the process's command line

def send_cmdline(ctx, source: str):
    """send to a server that never greets: while mailwrench waits, its /proc/PID/cmdline has no
    trace of the password (file, command or environment)."""
    hide()
    with ScriptedServer([], greeting=None) as srv:
        args = conn(srv) + ["--auth", "plain"]
        env_pw = None
        if source == "file":
            args += ["--password-file", str(ctx.file("pw", PASSWORD))]
        elif source == "command":
            args += ["--password-command", "cat " + str(ctx.file("pw", PASSWORD))]
        else:
            env_pw = PASSWORD
        proc = ctx.popen(args + SEND, password=env_pw)
        try:
            deadline = time.monotonic() + 5
            while srv.connections == 0 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            time.sleep(0.3)
            check(proc.poll() is None, f"send ended (exit {proc.returncode}) instead of waiting for the greeting")
            check(srv.connections >= 1, "send never connected to the silent server")
            raw = open(f"/proc/{proc.pid}/cmdline", "rb").read().decode(errors="replace")
            for name, form in secret_forms(USER, PASSWORD).items():
                check(form not in raw, f"{name} is in /proc/{proc.pid}/cmdline: {mw.redact(raw)!r}")
        finally:
            proc.kill()
            proc.communicate(timeout=10)


for _source in ("file", "command", "environment"):
    mw.add(f"smtp_not_in_cmdline_password_{_source}", send_cmdline, _source)


# =========================================================================== file modes in flight

def mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def umask_000_wrapper(ctx) -> str:
    w = ctx.scratch / "umask000-mailwrench"
    w.write_text(f'#!/bin/sh\numask 000\nexec {ctx.bin} "$@"\n')
    os.chmod(w, 0o755)
    return str(w)


def files_in_flight(ctx, target: str):
    """fetch --new --delete under umask 000; the server stalls halfway through RETR 2, so that the
    state journal, the lock, the first stored message and the half-written second one all exist.
    Every file mailwrench made is 0600 and every directory 0700 (nothing wider, umask or not)."""
    hide()
    msgs = [mw.message(f"fl{i}", size=20_000) for i in (1, 2, 3)]
    out = ctx.scratch / "out"
    state = ctx.scratch / "st" / "sub" / "box.uids"
    box = Pop3Mailbox(msgs)
    half = pop3_wire(msgs[1])[:8000]
    real, ctx.bin = ctx.bin, umask_000_wrapper(ctx)
    try:
        with ScriptedServer([on(r"RETR 2", b"+OK\r\n" + half, stall())], fallback=box) as srv:
            dest = {"maildir": f"maildir:{out}/md", "mbox": f"mbox:{out}/mb/box.mbox", "dir": f"dir:{out}/eml"}[target]
            proc = ctx.popen(conn(srv) + ["fetch", "--new", "--delete", "--state", str(state), "-o", dest],
                             password=PASSWORD)
            try:
                deadline = time.monotonic() + 10
                while not srv.saw(r"RETR 2") and time.monotonic() < deadline and proc.poll() is None:
                    time.sleep(0.05)
                time.sleep(0.5)
                check(proc.poll() is None, f"fetch ended (exit {proc.returncode}) instead of waiting in RETR 2")
                made = [p for p in [out, *out.rglob("*"), state.parent.parent, *state.parent.parent.rglob("*")]]
                wrong = []
                for p in made:
                    want = 0o700 if p.is_dir() else 0o600
                    if mode(p) != want:
                        wrong.append(f"{p.relative_to(ctx.scratch)} {oct(mode(p))} (want {oct(want)})")
                eq(wrong, [], f"-o {target}: modes of what exists while the fetch is in flight "
                              f"({sorted(str(p.relative_to(ctx.scratch)) for p in made)})")
                names = {p.name for p in made}
                # (The Maildir sink makes a batch visible and records it at once, so in flight
                # message 1 may still wait in tmp/ with no journal yet; mbox and dir: journalled.)
                expected = {"box.uids.lock"} | {"maildir": set(), "dir": {"box.uids.journal"},
                                                "mbox": {"box.uids.journal", "box.mbox", "box.mbox.lock"}}[target]
                eq(sorted(expected - names), [], f"-o {target}: files that should exist while the fetch is in flight "
                                                 f"(so that their modes are checked; all: {sorted(names)})")
                if target == "maildir":
                    # Message 2 waits half-written as an unnamed file (O_TMPFILE) that only the
                    # process holds open, or where the file system has none, as a file in tmp/.
                    tmp = out / "md" / "tmp"
                    unnamed = []
                    for fd in Path(f"/proc/{proc.pid}/fd").iterdir():
                        try:
                            if os.readlink(fd).startswith(str(tmp) + "/"):
                                unnamed.append(fd)
                        except OSError:
                            pass
                    named = list(tmp.iterdir())
                    check(unnamed or named, f"-o maildir: expected message 2 half-written in tmp/: {sorted(names)}")
                    modes = [stat.S_IMODE(os.stat(fd).st_mode) for fd in unnamed]  # the files, not the links
                    eq([oct(m) for m in modes if m != 0o600], [],
                       "-o maildir: modes of the unnamed files in flight (want 0o600)")
            finally:
                proc.kill()
                proc.communicate(timeout=10)
    finally:
        ctx.bin = real


for _target in ("maildir", "mbox", "dir"):
    mw.add(f"modes_in_flight_{_target}", files_in_flight, _target)


# =========================================================================== --password-file permissions

def password_file_mode(ctx, file_mode: int):
    hide()
    pw = ctx.file("pwfile", PASSWORD + "\n", file_mode)
    sasl = SaslServer(USER, PASSWORD, protocol="pop3")
    with pop3_server(sasl) as srv:
        res = ctx.run(conn(srv, ["--auth", "plain", "--password-file", str(pw)]) + ["stat"])
        srv.settle()
    what = f"--password-file of mode {file_mode:o}"
    expect_ok(res, what)
    eq(sasl.successes, ["PLAIN"], f"{what}: the password from the file was used", res)
    expect_no_secret(res, what)
    warnings = [l for l in res.stderr_lines if l.startswith("mailwrench: warning:")]
    if file_mode & 0o077:
        check(len(warnings) == 1 and str(pw) in warnings[0] and f"{file_mode & 0o777:o}" in warnings[0]
              and re.search(r"chmod 600|chmod", warnings[0]),
              f"{what}: expected one 'mailwrench: warning:' naming the file, the mode {file_mode:o} and chmod", res)
    else:
        eq(warnings, [], f"{what}: warnings", res)


for _mode in (0o644, 0o640, 0o604, 0o660, 0o600, 0o400):
    mw.add(f"password_file_mode_{_mode:o}", password_file_mode, _mode)


if __name__ == "__main__":
    sys.exit(mw.main())
