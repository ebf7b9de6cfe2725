#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What a selection costs (issue 13, item 2): headers (TOP n 0) are read only for the messages
that numbers, UIDs and sizes have not already ruled out. One UID of a 60-message mailbox is one
TOP, not 60. Against the scripted server of tests/support, which counts the commands."""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import eq, expect_ok, scenario  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer  # noqa: E402

PASSWORD = "cost-Pa55-" + os.urandom(4).hex()
COUNT = 60


def box() -> Pop3Mailbox:
    # Messages 7 and 42 are large (> 10K); every message has a UID "u<number>".
    msgs = [mw.message(f"cost{i}", size=20_000 if i in (7, 42) else None) for i in range(1, COUNT + 1)]
    return Pop3Mailbox(msgs, uids=[f"u{i}" for i in range(1, COUNT + 1)])


def tops(args: list[str], ctx) -> tuple[mw.Result, list[str]]:
    if all(secret != PASSWORD for secret, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (PASSWORD, "<password of the scripted server's user>"))
    with ScriptedServer([], fallback=box()) as srv:
        res = ctx.run(["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
                       "-u", "cost", "--timeout", "10"] + args, password=PASSWORD, timeout=40)
        srv.settle()
    return res, sorted((line for line in srv.received if line.startswith("TOP ")),
                       key=lambda line: int(line.split()[1]))


@scenario
def purge_by_uid_reads_one_header(ctx):
    res, top = tops(["--json", "purge", "--uid", "u17", "--dry-run"], ctx)
    expect_ok(res, "purge --uid u17 --dry-run")
    eq(top, ["TOP 17 0"], "TOP commands for one UID of 60 messages", res)
    eq([m["uid"] for m in res.json()["would_delete"]], ["u17"], "the message selected", res)


@scenario
def purge_by_size_reads_only_those(ctx):
    res, top = tops(["purge", "--larger-than", "10K", "--dry-run"], ctx)
    expect_ok(res, "purge --larger-than 10K --dry-run")
    eq(top, ["TOP 7 0", "TOP 42 0"], "TOP commands for the two large messages of 60", res)


@scenario
def list_by_uid_with_headers_reads_one(ctx):
    res, top = tops(["--json", "list", "--uid", "u5", "--uid", "u9", "--headers"], ctx)
    expect_ok(res, "list --uid u5 --uid u9 --headers")
    eq(top, ["TOP 5 0", "TOP 9 0"], "TOP commands for two UIDs", res)


@scenario
def header_filter_after_numbers(ctx):
    """A header filter still reads the headers it filters on, but only within the numbers given."""
    res, top = tops(["--json", "list", "10-12", "--subject", "cost1"], ctx)
    expect_ok(res, "list 10-12 --subject cost1")
    eq(top, ["TOP 10 0", "TOP 11 0", "TOP 12 0"], "TOP commands within 10-12", res)
    eq([m["number"] for m in res.json()["messages"]], [10, 11, 12], "matched", res)


if __name__ == "__main__":
    sys.exit(mw.main())
