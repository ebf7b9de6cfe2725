#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 13.3: send reads standard input only when asked (--body-file -, or --raw).

In a shell loop fed from a file, each send gets the loop's stdin; before, the first one read
the rest of the list as its body and the loop ended after one recipient (exit 0). Against the
real Postfix of postfix_fixture.py (files named test_send*.py get that fixture).
"""
from __future__ import annotations

import shlex
import subprocess
import sys

import mwtest as mw
from mwtest import check, eq, expect_ok

# The helpers of test_send.py, without its scenarios.
_registered = dict(mw.SCENARIOS)
import test_send as ts  # noqa: E402
mw.SCENARIOS.clear()
mw.SCENARIOS.update(_registered)


@ts.sc
def send_loop_reads_its_own_list(ctx):
    """while read a; do mailwrench send --to "$a" ...; done < list: three recipients, three
    messages, each with an empty body."""
    sender, *rcpts = ts.claim(ctx, 4)
    tok = ts.token("loop")
    listing = ctx.file("recipients", "".join(r.address + "\n" for r in rcpts))
    argv = [ctx.bin] + ts.smtp_args(ctx, "starttls", sender) + ["send", "--from", sender.address,
                                                               "--subject", tok]
    script = ("n=0\n"
              f"while read a; do {shlex.join(argv)} --to \"$a\" || exit 9; n=$((n+1)); done < {listing}\n"
              "echo \"sent $n\"\n")
    env = ctx.base_env(None)
    env["MAILWRENCH_PASSWORD"] = sender.password
    p = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, env=env, timeout=120,
                       stdin=subprocess.DEVNULL)
    res = mw.Result(["/bin/sh", "-c", script], p.returncode, p.stdout, p.stderr, 0.0, "")
    eq(p.returncode, 0, "the send loop's exit status", res)
    check("sent 3" in p.stdout, "the loop did not run send once per line of the list", res)
    for r in rcpts:
        data = ts.delivered(r, tok, res, f"send in a loop to {r.address}")
        body = ts.parse(data).get_content()
        for other in rcpts:
            check(other.address not in body, f"the body of the message to {r.address} holds the list", res)
        eq(body.strip(), "", f"the body of the message to {r.address}", res)


@ts.sc
def no_body_option_ignores_stdin(ctx):
    """No --body, no --body-file, text on stdin: stdin is not read; the body is empty."""
    sender, rcpt = ts.claim(ctx, 2)
    tok = ts.token("nostdin")
    res = ts.send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok],
                  stdin="this text on stdin was not asked for\n")
    expect_ok(res, "send without a body option, text on stdin")
    data = ts.delivered(rcpt, tok, res, "send without a body option")
    check(b"not asked for" not in data, "stdin became the body although nothing asked for it", res)


@ts.sc
def body_file_dash_reads_stdin(ctx):
    """--body-file - still reads the body from stdin."""
    sender, rcpt = ts.claim(ctx, 2)
    tok = ts.token("dash")
    res = ts.send(ctx, sender, ["--from", sender.address, "--to", rcpt.address, "--subject", tok,
                                "--body-file", "-"], stdin=ts.BODY)
    expect_ok(res, "send --body-file -")
    ts.check_message(ts.delivered(rcpt, tok, res, "--body-file -"), "--body-file -", res, frm=sender.address,
                     to=[rcpt.address], subject=tok, body=ts.BODY, mid=res.json()["message_id"])


if __name__ == "__main__":
    sys.exit(mw.main())
