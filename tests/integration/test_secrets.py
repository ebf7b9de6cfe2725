#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Secrets never reach output: with -v / -vv and every mechanism the password (and the base64
payloads that carry it) is absent from stdout and stderr, while the transcript shows the
redaction; error messages and the process's command line do not carry it either."""
import re
import sys
import time

import mwtest as mw
from mwtest import check, eq, scenario

REDACTED_AFTER = {  # where the transcript must show a redaction marker
    "user": r"\bPASS\b",
    "plain": r"\bAUTH\s+PLAIN\b",
    "login": r"\bAUTH\s+LOGIN\b",
}


def no_secret(ctx, res, user, password, what):
    for stream, text in (("stdout", res.stdout), ("stderr", res.stderr)):
        found = mw.transcript_has_secret(text, user, password)
        eq(found, [], f"{what}: forms of the password found in {stream}", res)


def verbose(ctx, mech, user, level):
    if mech not in ("user", "auto") and mech not in ctx.env["mechanisms"]:
        raise mw.Skip(f"this Dovecot does not offer {mech.upper()}")
    pw = ctx.password(user)
    res = ctx.run(ctx.conn("stls", user=user) + [level, "--auth", mech, "--json", "stat"], user=user)
    what = f"{level} --auth {mech} as {user}"
    ctx.expect_stat_json(res, user=user, what=what)
    check(re.search(r"\bSTAT\b", res.stderr), f"{what}: the transcript (stderr) should show STAT", res)
    no_secret(ctx, res, user, pw, what)
    if mech in REDACTED_AFTER:
        m = re.search(REDACTED_AFTER[mech], res.stderr)
        check(m, f"{what}: the transcript does not show /{REDACTED_AFTER[mech]}/", res)
        check(mw.REDACTION.search(res.stderr, m.start()),
              f"{what}: the transcript should show the redaction (e.g. '***') after {m.group(0)!r}", res)


for _mech in ("user", "plain", "login", "cram-md5", "scram-sha-256", "apop", "auto"):
    mw.add(f"secrets_v_{_mech}_alice", verbose, _mech, "alice", "-v")
    mw.add(f"secrets_v_{_mech}_carol", verbose, _mech, "carol", "-v")
    mw.add(f"secrets_vv_{_mech}_alice", verbose, _mech, "alice", "-vv")


@scenario
def secrets_wrong_password_not_echoed(ctx):
    wrong = "Wr0ng-pa55word-XYZ"
    for level in ("-v", "-vv"):
        res = ctx.run(ctx.conn() + [level, "--auth", "plain", "stat"], password=wrong)
        check(res.rc == 77, f"wrong password {level}: exit code {res.rc}, expected 77", res)
        eq(mw.transcript_has_secret(res.stdout + res.stderr, "alice", wrong), [],
           f"wrong password {level}: forms of the (wrong) password in the output", res)


@scenario
def secrets_json_error_has_no_password(ctx):
    wrong = "Wr0ng-pa55word-XYZ"
    res = ctx.run(ctx.conn() + ["--json", "--auth", "user", "stat"], password=wrong)
    check(res.rc == 77, f"exit code {res.rc}, expected 77", res)
    eq(mw.transcript_has_secret(res.stdout + res.stderr, "alice", wrong), [], "password forms in the output", res)


def cmdline_while_waiting(ctx, source):
    pw = ctx.password("carol")
    with mw.FakeServer("silent") as srv:
        args = ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext", "-u", "carol",
                "--timeout", "10", "stat"]
        env_pw = None
        if source == "file":
            args += ["--password-file", str(ctx.file("pw", pw))]
        elif source == "command":
            args += ["--password-command", "cat " + str(ctx.file("pw", pw))]
        else:
            env_pw = pw
        proc = ctx.popen(args, password=env_pw)
        try:
            deadline = time.monotonic() + 5
            while srv.connections == 0 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            time.sleep(0.3)
            check(proc.poll() is None, f"mailwrench ended (exit {proc.returncode}) instead of waiting on the "
                                       "silent server")
            argv = open(f"/proc/{proc.pid}/cmdline", "rb").read().decode(errors="replace")
            shown = argv.replace("\0", " ")
            check(pw not in argv, f"the password is in /proc/{proc.pid}/cmdline: {mw.redact(shown)}")
            check(srv.connections >= 1, "mailwrench never connected to the silent server")
        finally:
            proc.kill()
            proc.communicate(timeout=10)


for _source in ("file", "command", "environment"):
    mw.add(f"secrets_not_in_cmdline_password_{_source}", cmdline_while_waiting, _source)

if __name__ == "__main__":
    sys.exit(mw.main())
