#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stat against Dovecot: plain and JSON output, every user, every transport."""
import sys

import mwtest as mw
from mwtest import scenario


@scenario
def stat_plain(ctx):
    ctx.expect_stat(ctx.run(ctx.conn() + ["stat"], user="alice"))


@scenario
def stat_json(ctx):
    ctx.expect_stat_json(ctx.run(ctx.conn() + ["--json", "stat"], user="alice"))


@scenario
def stat_bob_and_carol(ctx):
    for user in ("bob", "carol"):
        ctx.expect_stat_json(ctx.run(ctx.conn(user=user) + ["--json", "stat"], user=user),
                             user=user, what=f"stat --json as {user}")


@scenario
def stat_global_options_after_command(ctx):
    # "global options may also follow the command"
    ctx.expect_stat_json(ctx.run(["stat"] + ctx.conn() + ["--json"], user="alice"),
                         what="stat with every global option after the command")


@scenario
def stat_quiet(ctx):
    # -q silences diagnostics, not the result
    ctx.expect_stat(ctx.run(ctx.conn() + ["-q", "stat"], user="alice"), what="stat -q")


def transport(ctx, mode, host):
    ip = ctx.env["ip"] if host == "ip" else None
    res = ctx.run(ctx.conn(mode, host=ip) + ["stat"], user="alice")
    ctx.expect_stat(res, what=f"stat over {mode} to {ip or ctx.env['host']}")
    res = ctx.run(ctx.conn(mode, host=ip) + ["--json", "stat"], user="alice")
    ctx.expect_stat_json(res, what=f"stat --json over {mode} to {ip or ctx.env['host']}")


for _mode in ("pop3s", "stls"):
    for _host in ("localhost", "ip"):
        mw.add(f"stat_over_{_mode}_{_host}", transport, _mode, _host)

if __name__ == "__main__":
    sys.exit(mw.main())
