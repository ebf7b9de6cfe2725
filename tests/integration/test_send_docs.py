#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 13.8, the send half: what the manual says about send is what send does.

- the plain result lines separate their fields with one space (the manual said "two spaces");
- send --dry-run needs no server (the manual said one must still be given);
- send --raw --header is a usage error, 64 (the manual said --header is "ignored");
- a STARTTLS answered 454 (temporary) ends with 75, not 77.
Against a scripted SMTP server (FakeSmtp of test_send.py) or no server at all.
"""
from __future__ import annotations

import re
import sys

import mwtest as mw
from mwtest import check, eq, expect_error, expect_ok

# The helpers of test_send.py, without its scenarios.
_registered = dict(mw.SCENARIOS)
import test_send as ts  # noqa: E402
mw.SCENARIOS.clear()
mw.SCENARIOS.update(_registered)

SEND = ["send", "--from", "a@example.org", "--to", "b@example.org", "--to", "c@example.org",
        "--subject", "s", "--body", "b"]


@ts.fk
def plain_result_lines_single_spaced(ctx):
    with ts.FakeSmtp(rcpt={"c@example.org": "550 5.1.1 no such user"}) as srv:
        res = ctx.run(ts.fake_args(srv.port) + SEND)
    eq(res.rc, 1, "one of two recipients refused: exit code", res)
    lines = res.stdout.splitlines()
    check("accepted b@example.org 250 2.1.5 Ok" in lines, "the line of the accepted recipient", res)
    check("rejected c@example.org 550 5.1.1 no such user" in lines, "the line of the refused recipient", res)
    check("sent 250 2.0.0 Ok: queued as FAKE12345" in lines, "the line of the message", res)
    check("queued as FAKE12345" in lines, "the queue id line", res)
    check(any(re.fullmatch(r"message id <[^<>\s]+>", l) for l in lines), "the Message-ID line", res)
    check(not any("  " in l for l in lines), "a result line has two spaces in a row", res)


@ts.fk
def dry_run_needs_no_host(ctx):
    res = ctx.run(["send", "--dry-run", "--from", "a@example.org", "--to", "b@example.org", "--subject",
                   "dry", "--body", "text"])
    expect_ok(res, "send --dry-run without -H or an account")
    check(re.search(r"^Subject: dry$", res.stdout, re.M), "the message is printed", res)


@ts.fk
def raw_with_header_is_usage(ctx):
    res = ctx.run(["send", "--dry-run", "--raw", "--header", "X-Test: y"],
                  stdin="From: a@example.org\nTo: b@example.org\nSubject: r\n\nbody\n")
    expect_error(res, 64, r"--header", "send --raw --header")


@ts.fk
def starttls_454_is_temporary(ctx):
    with ts.FakeSmtp(starttls="refuse") as srv:
        res = ctx.run(ts.fake_args(srv.port, tls="starttls") + SEND)
    expect_error(res, 75, r"STARTTLS", "STARTTLS answered 454")


if __name__ == "__main__":
    sys.exit(mw.main())
