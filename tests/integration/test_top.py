#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""top against Dovecot: exact header text and body lines, LF endings, dot-unstuffing, UTF-8,
a 100,000-character line, a 200 KB message, JSON, every transport."""
import sys

import mwtest as mw
from mwtest import check, eq, expect_ok, scenario


def expect_top(ctx, args, number, lines, user="alice", what=None):
    what = what or "top " + " ".join(args)
    res = ctx.run(ctx.conn(user=user) + ["top"] + args, user=user)
    expect_ok(res, what)
    check("\r" not in res.stdout, f"{what}: output must have LF line endings (found CR)", res)
    eq(res.stdout, ctx.top_text(number, lines, user), f"{what}: output (header, blank line, {lines} body lines)", res)
    return res


def expect_top_json(ctx, args, number, lines, user="alice", extra=(), what=None):
    what = what or "--json top " + " ".join(args)
    res = ctx.run(ctx.conn(user=user) + list(extra) + ["--json", "top"] + args, user=user)
    expect_ok(res, what)
    msgs = res.json().get("messages")
    check(isinstance(msgs, list) and len(msgs) == 1, f"{what}: 'messages' is a list of one", res)
    doc = msgs[0]
    m = ctx.msg(number, user)
    eq({k: doc.get(k) for k in ("number", "uid", "lines")}, {"number": number, "uid": m["uid"], "lines": lines},
       f"{what}: number/uid/lines", res)
    eq(doc.get("content"), ctx.top_text(number, lines, user), f"{what}: content", res)
    return res


@scenario
def top_1(ctx):
    # --lines defaults to 0: the header section and the empty line after it
    expect_top(ctx, ["1"], 1, 0)


@scenario
def top_1_json(ctx):
    expect_top_json(ctx, ["1"], 1, 0)


@scenario
def top_each_message_5_lines(ctx):
    for m in ctx.messages():
        expect_top(ctx, [str(m["number"]), "--lines", "5"], m["number"], 5)


@scenario
def top_json_5_lines(ctx):
    for n in (3, 6, 20):
        expect_top_json(ctx, [str(n), "--lines", "5"], n, 5)


@scenario
def top_dot_stuffed_lines(ctx):
    m = ctx.tagged("dots")
    res = expect_top(ctx, [str(m["number"]), "--lines", "9"], m["number"], 9)
    body = res.stdout.split("\n\n", 1)[1].split("\n")
    eq(body[:5], [".", "..", ".leading dot", "..two leading dots", "..."],
       "body lines starting with dots, exactly as stored (the server's stuffing removed once)", res)


@scenario
def top_dot_stuffed_json(ctx):
    m = ctx.tagged("dots")
    expect_top_json(ctx, [str(m["number"]), "--lines", "9"], m["number"], 9)


@scenario
def top_utf8_message(ctx):
    # top shows the message as stored: encoded words stay encoded, the 8-bit body is UTF-8
    m = ctx.tagged("utf8")
    res = expect_top(ctx, [str(m["number"]), "--lines", "4"], m["number"], 4)
    check("Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\n" in res.stdout, "raw Subject header line", res)
    check("viele Grüße aus Köln am Rhein.\n" in res.stdout, "UTF-8 body line", res)


@scenario
def top_utf8_json(ctx):
    m = ctx.tagged("utf8")
    expect_top_json(ctx, [str(m["number"]), "--lines", "4"], m["number"], 4)


@scenario
def top_folded_header(ctx):
    m = ctx.tagged("folded")
    res = expect_top(ctx, [str(m["number"])], m["number"], 0)
    check("Subject: Quarterly Report for the\n second quarter of 2019, folded\n over three lines\n" in res.stdout,
          "the folded Subject is shown as stored (folded)", res)


@scenario
def top_crlf_stored_message(ctx):
    m = ctx.tagged("crlf")
    expect_top(ctx, [str(m["number"]), "--lines", "3"], m["number"], 3)


@scenario
def top_long_line(ctx):
    m = ctx.tagged("longline")
    res = expect_top(ctx, [str(m["number"]), "--lines", "3"], m["number"], 3)
    check(("0123456789" * 10000) + "\n" in res.stdout, "the 100,000-character line, whole", res)


@scenario
def top_big_message(ctx):
    m = ctx.tagged("big")
    expect_top(ctx, [str(m["number"]), "--lines", "10"], m["number"], 10)


@scenario
def top_more_lines_than_the_body(ctx):
    m = ctx.msg(1)
    check(m["body_line_count"] < 100 and m["body_line_count"] == len(m["body_lines"]), "fixture: short message 1")
    expect_top(ctx, ["1", "--lines", "100"], 1, m["body_line_count"])


@scenario
def top_last_message(ctx):
    n = ctx.box()["count"]
    expect_top(ctx, [str(n), "--lines", "2"], n, 2)


@scenario
def top_bob_and_carol(ctx):
    expect_top(ctx, ["2", "--lines", "1"], 2, 1, user="bob")
    expect_top(ctx, ["1", "--lines", "1"], 1, 1, user="carol")


def transport(ctx, mode, host):
    ip = ctx.env["ip"] if host == "ip" else None
    where = f"over {mode} to {ip or ctx.env['host']}"
    m = ctx.tagged("dots")
    res = ctx.run(ctx.conn(mode, host=ip) + ["top", str(m["number"]), "--lines", "5"], user="alice")
    expect_ok(res, f"top {where}")
    eq(res.stdout, ctx.top_text(m["number"], 5), f"top {m['number']} --lines 5 {where}", res)
    res = ctx.run(ctx.conn(mode, host=ip) + ["--json", "top", "7", "--lines", "2"], user="alice")
    expect_ok(res, f"--json top {where}")
    eq(res.json()["messages"][0].get("content"), ctx.top_text(7, 2), f"--json top 7 --lines 2 {where}: content", res)


for _mode in ("pop3s", "stls"):
    for _host in ("localhost", "ip"):
        mw.add(f"top_over_{_mode}_{_host}", transport, _mode, _host)

if __name__ == "__main__":
    sys.exit(mw.main())
