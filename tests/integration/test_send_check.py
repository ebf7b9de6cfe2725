#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 14, zero false errors: what `mailwrench send` composes and the fixture's Postfix
delivers (Received, Return-Path and Delivered-To added, 8-bit or quoted-printable text,
attachments) gets no `error` from `mailwrench check` over POP3. Named test_send_* so that the
Postfix fixture comes along (tests/integration/CMakeLists.txt)."""
from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_ok, fail, scenario  # noqa: E402
import postfix_fixture as pfx  # noqa: E402


def claim(ctx):
    """A send user no other scenario of this fixture run has had (test_send.py's turn counter)."""
    e = ctx.env
    if "smtp_port" not in e or "send_users" not in e:
        raise mw.Skip("the Postfix fixture is not running ('integration: postfix_start' was skipped or failed)")
    for name, u in e["send_users"].items():
        if all(u["password"] != s for s, _ in mw._SECRETS):
            mw._SECRETS.append((u["password"], f"<password of {name}>"))
    mw._SECRETS.sort(key=lambda s: -len(s[0]))
    names = sorted(e["send_users"])
    with open(ctx.dir / "postfix" / "send-users.claimed", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        k = int(f.read().strip() or 0)
        f.seek(0)
        f.truncate()
        f.write(str(k + 1))
    name = names[k % len(names)]
    return name, e["send_users"][name]


@scenario
def send_then_check_is_clean(ctx):
    name, user = claim(ctx)
    e = ctx.env
    smtp = ["-H", e["smtp_host"], "-p", str(e["smtp_port"]), "--tls", "starttls", "--cacert", e["ca"],
            "--timeout", "20", "-u", name]
    attachment = ctx.file("data.bin", "binary-ish \u00e9 content\n" * 50)
    tokens = []
    variants = [
        ["--subject", "plain ascii", "--body", "Hello.\n.leading dot\nFrom the start\n"],
        ["--subject", "Grüße — ünïcödé subject that is long enough to be folded over lines",
         "--body", "Grüße aus Köln ✓\n" + "x" * 1500 + "\n"],
        ["--subject", "with attachments", "--body", "see attached\n", "--attach", str(attachment),
         "--header", "X-Check: yes"],
    ]
    for i, args in enumerate(variants):
        token = f"mwc-{os.getpid()}-{i}-{os.urandom(3).hex()}"
        tokens.append(token)
        res = ctx.run(smtp + ["send", "--from", user["address"], "--to", user["address"],
                              "--header", f"X-Token: {token}"] + args, password=user["password"])
        expect_ok(res, f"send variant {i}")
    for token in tokens:
        if pfx.find_delivered(Path(user["maildir"]), token.encode()) is None:
            fail(f"the message {token} was not delivered within {pfx.DELIVERY_TIMEOUT:.0f} s")
    res = ctx.run(ctx.conn(user=name) + ["--json", "check"], password=user["password"])
    expect_ok(res, "check of the delivered messages")
    doc = res.json()
    check(doc["checked"] >= len(tokens), f"at least {len(tokens)} messages checked", res)
    eq(doc["with_errors"], 0, "no message with an error", res)


mw.main()
