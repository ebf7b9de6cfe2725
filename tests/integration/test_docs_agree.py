#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 13.8, the POP3 half: what the manual says is what mailwrench does.

- an empty --uid-file selects nothing: list shows no message, fetch stores none, purge deletes
  none, each with exit 0 (the manual said it took every message, and purge exited 64);
- --password-command runs before mailwrench connects (the manual said "after TLS has been set
  up"): a failing command is exit 78 with no connection made.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_error, expect_ok, message, scenario  # noqa: E402
from scripted_server import ScriptedServer  # noqa: E402


@scenario
def empty_uid_file_selects_nothing(ctx):
    box = ctx.mailbox([message(f"emptyuids{i}", subject=f"e {i}") for i in range(1, 4)], "emptyuids")
    empty = ctx.file("uids", "")
    blank = ctx.file("blank-uids", "\n  \n\t\n")
    for uids in (empty, blank):
        res = box.run(["--json", "list", "--uid-file", str(uids)])
        expect_ok(res, f"list --uid-file {uids.name}")
        eq(res.json()["messages"], [], f"list --uid-file {uids.name}: messages", res)
        res = box.run(["purge", "--uid-file", str(uids), "--yes"])
        expect_ok(res, f"purge --uid-file {uids.name} --yes")
        eq(box.server_uids(), box.uids, f"the server after purge --uid-file {uids.name}", res)
        md = ctx.scratch / f"md-{uids.name}"
        res = box.run(["--json", "fetch", "--uid-file", str(uids), "-o", f"maildir:{md}"])
        expect_ok(res, f"fetch --uid-file {uids.name}")
        eq(res.json()["count"], 0, f"fetch --uid-file {uids.name}: messages stored", res)


@scenario
def password_command_runs_before_connecting(ctx):
    with ScriptedServer([], greeting="+OK if you can read this, a connection was made") as srv:
        res = ctx.run(["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext", "-u", "x",
                       "--password-command", "exit 3", "stat"], timeout=20)
        connections = srv.connections
    expect_error(res, 78, r"password", "a failing --password-command")
    eq(connections, 0, "connections made before the password command failed", res)


if __name__ == "__main__":
    sys.exit(mw.main())
