#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""list against Dovecot: plain and JSON, --headers (RFC 2047 decoding, folded headers, dates),
every transport, and the selection (numbers, ranges, --uid, sizes, ages, header filters)."""
import datetime as dt
import re
import sys

import mwtest as mw
from mwtest import check, eq, expect_ok, scenario


def all_numbers(ctx, user="alice"):
    return [m["number"] for m in ctx.messages(user)]


def expect_list_plain(ctx, res, numbers, user="alice", headers=False, what="list"):
    """Not a TTY: one line per message, starting NUMBER OCTETS UID; headers=True: the decoded
    subject is on the line too; False: nothing else is; None: not checked."""
    expect_ok(res, what)
    lines = [l for l in res.stdout.splitlines() if l.strip()]
    eq(len(lines), len(numbers), f"{what}: number of lines (one per message, nothing else)", res)
    for line, n in zip(lines, numbers):
        m = ctx.msg(n, user)
        fields = line.split()
        eq(fields[:3], [str(m["number"]), str(m["octets"]), m["uid"]],
           f"{what}: first three columns of the line for message {n}", res)
        if headers is None:
            continue
        if headers:
            check(m["subject"] in line, f"{what}: line of message {n} lacks the decoded subject "
                                        f"{m['subject']!r}: {line!r}", res)
        else:
            eq(len(fields), 3, f"{what}: columns of the line for message {n}", res)


@scenario
def list_plain(ctx):
    expect_list_plain(ctx, ctx.run(ctx.conn() + ["list"], user="alice"), all_numbers(ctx))


@scenario
def list_json(ctx):
    ctx.expect_list_json(ctx.run(ctx.conn() + ["--json", "list"], user="alice"), all_numbers(ctx))


@scenario
def list_headers_json(ctx):
    ctx.expect_list_json(ctx.run(ctx.conn() + ["--json", "list", "--headers"], user="alice"),
                         all_numbers(ctx), headers=True, what="list --headers --json")


@scenario
def list_headers_plain(ctx):
    expect_list_plain(ctx, ctx.run(ctx.conn() + ["list", "--headers"], user="alice"), all_numbers(ctx),
                      headers=True, what="list --headers")


@scenario
def list_headers_decoded(ctx):
    """RFC 2047 (UTF-8 B and Q, ISO-8859-1, two adjacent encoded words) and a folded Subject."""
    res = ctx.run(ctx.conn() + ["--json", "list", "--headers"], user="alice")
    doc = ctx.expect_list_json(res, all_numbers(ctx), headers=True, what="list --headers --json")
    by_n = {m["number"]: m for m in doc["messages"]}
    utf8 = ctx.tagged("utf8")
    eq(by_n[utf8["number"]]["subject"], "Grüße aus Köln", "decoded UTF-8 subject", res)
    eq(by_n[utf8["number"]]["from"], "Jürgen Müller <juergen@example.de>", "decoded UTF-8 From", res)
    eq(by_n[ctx.tagged("charsets")["number"]]["subject"], "Café✓",
       "two adjacent encoded words in two charsets (the space between them goes)", res)
    eq(by_n[ctx.tagged("folded")["number"]]["subject"],
       "Quarterly Report for the second quarter of 2019, folded over three lines", "unfolded subject", res)
    check("\\u00fc" in res.stdout or "ü" in res.stdout, "JSON carries the decoded text", res)


@scenario
def list_headers_plain_decoded(ctx):
    res = ctx.run(ctx.conn() + ["list", "--headers"], user="alice")
    expect_ok(res, "list --headers")
    line = [l for l in res.stdout.splitlines() if l.split()[:1] == [str(ctx.tagged("utf8")["number"])]]
    check(len(line) == 1 and "Grüße aus Köln" in line[0] and "=?UTF-8?" not in line[0],
          "list --headers shows the decoded UTF-8 subject, not the encoded word", res)


@scenario
def list_headers_no_date(ctx):
    """bob's message 2 has no Date header: "date": null."""
    res = ctx.run(ctx.conn(user="bob") + ["--json", "list", "--headers"], user="bob")
    doc = ctx.expect_list_json(res, all_numbers(ctx, "bob"), user="bob", headers=True,
                               what="list --headers --json as bob")
    nodate = ctx.tagged("nodate", "bob")["number"]
    check("date" in doc["messages"][nodate - 1] and doc["messages"][nodate - 1]["date"] is None,
          "a message without Date has \"date\": null", res)


@scenario
def list_headers_dates_utc(ctx):
    res = ctx.run(ctx.conn() + ["--json", "list", "--headers"], user="alice")
    doc = ctx.expect_list_json(res, all_numbers(ctx), headers=True, what="list --headers --json")
    for m in doc["messages"]:
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["date"] or ""),
              f"date of message {m['number']} is RFC 3339 UTC (…Z): {m['date']!r}", res)


def transport(ctx, mode, host):
    ip = ctx.env["ip"] if host == "ip" else None
    where = f"over {mode} to {ip or ctx.env['host']}"
    ctx.expect_list_json(ctx.run(ctx.conn(mode, host=ip) + ["--json", "list", "--headers"], user="alice"),
                         all_numbers(ctx), headers=True, what=f"list --headers --json {where}")
    expect_list_plain(ctx, ctx.run(ctx.conn(mode, host=ip) + ["list"], user="alice"), all_numbers(ctx),
                      what=f"list {where}")


for _mode in ("pop3s", "stls"):
    for _host in ("localhost", "ip"):
        mw.add(f"list_over_{_mode}_{_host}", transport, _mode, _host)


# --------------------------------------------------------------------------- selection

def select(ctx, args, numbers, headers=False, user="alice", what=None):
    what = what or "list --json " + " ".join(args)
    res = ctx.run(ctx.conn(user=user) + ["--json", "list"] + args, user=user)
    ctx.expect_list_json(res, numbers, user=user, headers=headers, what=what)
    return res


@scenario
def select_single_number(ctx):
    select(ctx, ["3"], [3])


@scenario
def select_range(ctx):
    select(ctx, ["5-9"], [5, 6, 7, 8, 9])


@scenario
def select_list_of_numbers(ctx):
    select(ctx, ["1,4,7"], [1, 4, 7])


@scenario
def select_numbers_and_ranges_mixed(ctx):
    select(ctx, ["1,4-6,20"], [1, 4, 5, 6, 20])
    select(ctx, ["2", "18-19"], [2, 18, 19], what="list --json 2 18-19 (two positional arguments)")


@scenario
def select_uid(ctx):
    m = ctx.msg(12)
    select(ctx, ["--uid", m["uid"]], [12])


@scenario
def select_uid_repeated(ctx):
    select(ctx, ["--uid", ctx.msg(17)["uid"], "--uid", ctx.msg(2)["uid"]], [2, 17])


def by_size(ctx, pred_1000, pred_1024, what):
    a = [m["number"] for m in ctx.messages() if pred_1000(m["octets"])]
    b = [m["number"] for m in ctx.messages() if pred_1024(m["octets"])]
    if a != b:
        raise mw.Failure(f"test design: {what} differs between K=1000 and K=1024 ({a} vs {b})")
    return a


@scenario
def select_larger_than(ctx):
    want = by_size(ctx, lambda o: o > 120_000, lambda o: o > 120 * 1024, "--larger-than 120K")
    check(want == [ctx.tagged("big")["number"]], f"fixture: only the big message is > 120K ({want})")
    select(ctx, ["--larger-than", "120K"], want)


@scenario
def select_larger_than_octets(ctx):
    # A plain number is octets: the 100,000-character line makes message 5 just over 100000.
    want = [m["number"] for m in ctx.messages() if m["octets"] > 100_000]
    eq(sorted(want), sorted([ctx.tagged("longline")["number"], ctx.tagged("big")["number"]]),
       "fixture: messages over 100000 octets")
    select(ctx, ["--larger-than", "100000"], want)


@scenario
def select_larger_than_8k(ctx):
    want = by_size(ctx, lambda o: o > 8000, lambda o: o > 8192, "--larger-than 8K")
    select(ctx, ["--larger-than", "8K"], want)


@scenario
def select_smaller_than(ctx):
    want = by_size(ctx, lambda o: o < 1000, lambda o: o < 1024, "--smaller-than 1K")
    check(len(want) >= 5, f"fixture: several messages under 1K ({want})")
    select(ctx, ["--smaller-than", "1K"], want)


@scenario
def select_larger_than_1m_is_empty(ctx):
    select(ctx, ["--larger-than", "1M"], [])


@scenario
def select_from(ctx):
    want = [m["number"] for m in ctx.messages() if "lists.example.net" in m["from"]]
    check(len(want) == 4, f"fixture: four list messages ({want})")
    select(ctx, ["--from", r"lists\.example\.net"], want, headers=True)


@scenario
def select_from_case_insensitive(ctx):
    want = [m["number"] for m in ctx.messages() if "lists.example.net" in m["from"]]
    select(ctx, ["--from", r"LISTS\.Example\.NET"], want, headers=True)


@scenario
def select_from_decoded(ctx):
    select(ctx, ["--from", "Jürgen Müller"], [ctx.tagged("utf8")["number"]], headers=True)


@scenario
def select_subject_decoded_non_ascii(ctx):
    select(ctx, ["--subject", "Grüße aus Köln"], [ctx.tagged("utf8")["number"]], headers=True)
    select(ctx, ["--subject", "^Café✓$"], [ctx.tagged("charsets")["number"]], headers=True)


@scenario
def select_subject_unfolded(ctx):
    # Matches only if the folded Subject was unfolded first.
    select(ctx, ["--subject", "2019, folded over three"], [ctx.tagged("folded")["number"]], headers=True)


@scenario
def select_subject_no_match(ctx):
    select(ctx, ["--subject", "no such subject anywhere"], [], headers=True)


@scenario
def select_header_message_id(ctx):
    m = ctx.msg(12)
    select(ctx, ["--header", f"Message-ID: {re.escape(m['message_id'])}"], [12], headers=True)


@scenario
def select_header_name_case_insensitive(ctx):
    m = ctx.msg(9)
    select(ctx, ["--header", f"message-id: {re.escape(m['message_id'])}"], [9], headers=True)


@scenario
def select_header_content_type(ctx):
    want = [m["number"] for m in ctx.messages() if "charset=utf-8" in m["header"]]
    check(want == [ctx.tagged("utf8")["number"]], f"fixture: one utf-8 message ({want})")
    select(ctx, ["--header", "Content-Type: charset=utf-8"], want, headers=True)


def by_age(ctx, days=0, hours=0, older=True):
    now = dt.datetime.now(dt.timezone.utc)
    limit = now - dt.timedelta(days=days, hours=hours)
    out = []
    for m in ctx.messages():
        d = dt.datetime.strptime(m["date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
        if abs((d - limit).total_seconds()) < 600:
            raise mw.Failure(f"test design: message {m['number']} is within 10 minutes of the age limit")
        if (d < limit) == older:
            out.append(m["number"])
    return out


@scenario
def select_older_than(ctx):
    want = by_age(ctx, days=30, older=True)
    eq(len(want), 17, "fixture: 17 old messages")
    select(ctx, ["--older-than", "30d"], want, headers=True)


@scenario
def select_older_than_2d(ctx):
    want = by_age(ctx, days=2, older=True)
    eq(len(want), 18, "fixture: 17 old messages and the one of three days ago")
    select(ctx, ["--older-than", "2d"], want, headers=True)


@scenario
def select_newer_than(ctx):
    want = by_age(ctx, days=1, older=False)
    eq(len(want), 2, "fixture: two messages of the last day")
    select(ctx, ["--newer-than", "1d"], want, headers=True)


@scenario
def select_newer_than_hours(ctx):
    want = by_age(ctx, hours=3, older=False)
    eq(len(want), 1, "fixture: one message of the last three hours")
    select(ctx, ["--newer-than", "3h"], want, headers=True)


@scenario
def select_two_filters(ctx):
    # all given filters must match
    want = [m["number"] for m in ctx.messages() if "lists.example.net" in m["from"] and m["octets"] < 2000]
    eq(want, [ctx.tagged("folded")["number"]], "fixture: one small list message")
    select(ctx, ["--from", r"lists\.example\.net", "--smaller-than", "2K"], want, headers=True)


@scenario
def select_range_and_filter(ctx):
    want = [n for n in range(1, 11) if ctx.msg(n)["octets"] > 8192]
    eq(want, [5, 7], "fixture: messages 1-10 over 8K")
    select(ctx, ["1-10", "--larger-than", "8K"], want)


@scenario
def select_newer_and_subject(ctx):
    want = [m["number"] for m in ctx.messages() if "recent" in m["tags"] and "hour" in m["subject"]]
    eq(len(want), 2, "fixture: two recent messages with 'hour' in the subject")
    select(ctx, ["--newer-than", "7d", "--subject", "HOUR"], want, headers=True)


@scenario
def select_plain_output(ctx):
    res = ctx.run(ctx.conn() + ["list", "--from", r"lists\.example\.net"], user="alice")
    want = [m["number"] for m in ctx.messages() if "lists.example.net" in m["from"]]
    expect_list_plain(ctx, res, want, headers=None, what="list --from (plain)")


if __name__ == "__main__":
    sys.exit(mw.main())
