#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""purge against Dovecot: every selector deletes exactly the selected messages (UIDs compared
before and after), --dry-run deletes nothing, the usage errors (no selection, no --yes without a
terminal) and missing messages (65) change nothing, the JSON document, and the
`list --json | jq | purge --uid-file -` pipe. QUIT refused or cut (a fake server): no success claimed.

Every scenario gets a fresh mailbox (Ctx.mailbox): alice, bob and carol are not touched."""
import datetime as dt
import email.utils
import os
import re
import shlex
import shutil
import subprocess

import mwtest as mw
from mwtest import check, eq, expect_ok, scenario, message


def rfc2822(d: dt.datetime) -> str:
    return email.utils.format_datetime(d)


def rfc3339(d: dt.datetime) -> str:
    return d.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def specs():
    """The messages of every purge mailbox: (From, decoded From, raw Subject, decoded Subject,
    date or None, extra headers, size)."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    cet = dt.timezone(dt.timedelta(hours=1))
    return [
        dict(frm="Alice <alice@example.org>", subject="Hello", date=dt.datetime(2020, 5, 1, 10, 0, tzinfo=cet)),
        dict(frm="Newsletter <news@lists.example.net>", subject="Weekly digest",
             date=dt.datetime(2019, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc),
             headers=["List-Id: <weekly.lists.example.net>"], size=30_000),
        dict(frm="Bob <bob@lab.test>", subject="Lunch?", date=now - dt.timedelta(hours=2)),
        dict(frm="Spammer <win@spam.example>", subject="You WON a prize",
             date=dt.datetime(2018, 7, 8, 9, 10, 11, tzinfo=dt.timezone.utc),
             headers=["X-Spam-Flag: YES"], size=120_000),
        dict(frm="Newsletter <news@lists.example.net>", subject="Monthly digest",
             date=now - dt.timedelta(days=3), headers=["List-Id: <monthly.lists.example.net>"], size=5_000),
        dict(frm="=?UTF-8?Q?J=C3=BCrgen?= <juergen@example.de>", frm_decoded="Jürgen <juergen@example.de>",
             subject="=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=", subject_decoded="Grüße aus Köln",
             date=now - dt.timedelta(days=10)),
        dict(frm="Dave <dave@example.com>", subject="Re: Lunch?", date=None),
        dict(frm="Mailer-Daemon <MAILER-DAEMON@lab.test>", subject="Undelivered Mail Returned to Sender",
             date=dt.datetime(2021, 11, 12, 13, 14, 15, tzinfo=dt.timezone.utc),
             headers=["X-Spam-Flag: NO"], size=60_000),
    ]


def purge_box(ctx, tag):
    # One list for writing the messages and for checking them later: the relative dates
    # (now - 3 days, ...) must not move when a second passes in between.
    the_specs = specs()
    msgs = []
    for i, s in enumerate(the_specs, 1):
        msgs.append(message(f"p{i}-{tag}", frm=s["frm"], subject=s["subject"],
                            date=rfc2822(s["date"]) if s["date"] else None,
                            headers=(s.get("headers") or []) + ["Content-Type: text/plain; charset=us-ascii"],
                            body=f"Message {i}.\n", size=s.get("size")))
    box = ctx.mailbox(msgs, tag)
    box.specs = the_specs
    return box


def purge(ctx, box, args, stdin=None, json_out=False):
    return box.run((["--json"] if json_out else []) + ["purge"] + args, stdin=stdin)


def expect_remaining(box, deleted: list[int], what: str, res=None):
    """Exactly the messages numbered `deleted` (numbers as the mailbox was made) are gone."""
    want = [u for n, u in enumerate(box.uids, 1) if n not in deleted]
    got = box.server_uids()
    if got != want:
        gone = [n for n, u in enumerate(box.uids, 1) if u not in got]
        mw.fail(f"{what}: messages {gone} are gone from the server, expected exactly {sorted(deleted)}", res)


def expect_purged(ctx, box, args, deleted: list[int], what: str | None = None, stdin=None):
    """purge ARGS (non-interactive): exit 0, prints one row per selected message then
    'deleted N messages (SIZE)', and exactly those messages are gone."""
    what = what or "purge " + " ".join(args)
    res = purge(ctx, box, args, stdin=stdin)
    expect_ok(res, what)
    lines = [l for l in res.stdout.splitlines() if l.strip()]
    check(lines, f"{what}: no output", res)
    last = lines[-1]
    n = len(deleted)
    if n:
        check(re.fullmatch(rf"deleted {n} messages? \([^)]+\)", last),
              f"{what}: last line should be 'deleted {n} message(s) (SIZE)': {last!r}", res)
        rows = lines[:-1]
        eq([r.split("\t")[:3] for r in rows], [[str(k), str(len(mw.crlf(box.msg(k)))), box.uid(k)] for k in deleted],
           f"{what}: the rows shown (number, octets, UID; tab-separated when not a terminal)", res)
    else:
        check(re.search(r"nothing deleted", last), f"{what}: says nothing was deleted: {last!r}", res)
    expect_remaining(box, deleted, what, res)
    return res


def selector(args, deleted, stdin=None):
    def run(ctx):
        box = purge_box(ctx, "sel")
        expect_purged(ctx, box, args, deleted, stdin=stdin)
    return run


SELECTORS = {
    "purge_number": (["3", "--yes"], [3]),
    "purge_number_short_yes": (["8", "-y"], [8]),
    "purge_range": (["2-4", "--yes"], [2, 3, 4]),
    "purge_number_list": (["1,5,8", "--yes"], [1, 5, 8]),
    "purge_open_range": (["6-", "--yes"], [6, 7, 8]),
    "purge_open_range_past_the_end": (["20-", "--yes"], []),   # names no message: selects none
    "purge_two_arguments": (["--yes", "2", "7-8"], [2, 7, 8]),
    "purge_larger_than": (["--larger-than", "50K", "--yes"], [4, 8]),
    "purge_smaller_than": (["--smaller-than", "1K", "--yes"], [1, 3, 6, 7]),
    "purge_from": (["--from", r"lists\.example\.net", "--yes"], [2, 5]),
    "purge_from_decoded": (["--from", "^Jürgen", "--yes"], [6]),
    "purge_subject": (["--subject", "digest$", "--yes"], [2, 5]),
    "purge_subject_case_insensitive": (["--subject", "you won", "--yes"], [4]),
    "purge_subject_decoded": (["--subject", "Grüße aus Köln", "--yes"], [6]),
    "purge_header": (["--header", "X-Spam-Flag: yes", "--yes"], [4]),
    "purge_header_list_id": (["--header", r"list-id: weekly\.", "--yes"], [2]),
    # A message without Date is neither older nor newer than anything.
    "purge_older_than": (["--older-than", "30d", "--yes"], [1, 2, 4, 8]),
    "purge_newer_than": (["--newer-than", "5d", "--yes"], [3, 5]),
    "purge_newer_than_hours": (["--newer-than", "12h", "--yes"], [3]),
    "purge_filters_combined": (["--from", "lists", "--larger-than", "10K", "--yes"], [2]),
    "purge_range_and_filter": (["1-4", "--subject", "digest|lunch", "--yes"], [2, 3]),
    "purge_all": (["--all", "--yes"], [1, 2, 3, 4, 5, 6, 7, 8]),
    "purge_nothing_matches": (["--from", "nobody@nowhere", "--yes"], []),
}
for _name, (_args, _deleted) in SELECTORS.items():
    mw.add(_name, selector(_args, _deleted))


@scenario
def purge_uid(ctx):
    box = purge_box(ctx, "uid")
    expect_purged(ctx, box, ["--uid", box.uid(5), "--uid", box.uid(2), "--yes"], [2, 5])


@scenario
def purge_uid_after_renumbering(ctx):
    """Another client deleted message 1 since: --uid still names the right message (now number 2)."""
    box = purge_box(ctx, "renum")
    p = box._pop()
    p.dele(1)
    p.quit()
    res = purge(ctx, box, ["--uid", box.uid(3), "--yes"])
    expect_ok(res, "purge --uid after renumbering")
    expect_remaining(box, [1, 3], "purge --uid after another client deleted message 1", res)
    check(res.stdout.splitlines()[0].split("\t")[:3] == ["2", str(len(mw.crlf(box.msg(3)))), box.uid(3)],
          "the row shows the message's current number (2)", res)


@scenario
def purge_uid_file_stdin(ctx):
    box = purge_box(ctx, "uidstdin")
    expect_purged(ctx, box, ["--uid-file", "-", "--yes"], [1, 4], stdin=f"{box.uid(4)}\n{box.uid(1)}\n")


@scenario
def purge_uid_file(ctx):
    """A UID file with blank lines, surrounding white space and CRLF line ends."""
    box = purge_box(ctx, "uidfile")
    f = ctx.file("uids.txt", f"\n  {box.uid(7)}  \r\n\n{box.uid(3)}\t\r\n")
    expect_purged(ctx, box, ["--uid-file", str(f), "--yes"], [3, 7])


@scenario
def purge_uid_file_missing(ctx):
    box = purge_box(ctx, "uidfilemiss")
    res = purge(ctx, box, ["--uid-file", str(ctx.scratch / "no-such-file"), "--yes"])
    mw.expect_error(res, 66, r"no-such-file", "purge --uid-file MISSING")
    expect_remaining(box, [], "purge --uid-file MISSING", res)


@scenario
def purge_uid_file_empty(ctx):
    """The pipe matched nothing: an empty --uid-file must delete nothing (0, or a usage error)."""
    box = purge_box(ctx, "uidempty")
    res = purge(ctx, box, ["--uid-file", "-", "--yes"], stdin="")
    check(res.rc in (0, 64), f"exit code {res.rc}, expected 0 (nothing selected) or 64", res)
    expect_remaining(box, [], "purge --uid-file - with empty input", res)


@scenario
def purge_rows_like_list_headers(ctx):
    """The rows purge shows are the rows of `list --headers` for the same messages."""
    box = purge_box(ctx, "rows")
    listed = box.run(["list", "--headers", "2,6,7"])
    expect_ok(listed, "list --headers 2,6,7")
    res = expect_purged(ctx, box, ["2,6,7", "--yes"], [2, 6, 7])
    eq([l for l in res.stdout.splitlines() if l.strip()][:-1],
       [l for l in listed.stdout.splitlines() if l.strip()], "purge rows vs list --headers rows", res)
    check("Grüße aus Köln" in res.stdout and "Jürgen" in res.stdout, "the rows show decoded From/Subject", res)


@scenario
def purge_dry_run(ctx):
    box = purge_box(ctx, "dry")
    for flag in ("--dry-run", "-n"):
        res = purge(ctx, box, [flag, "2-3"])
        expect_ok(res, f"purge {flag} 2-3")
        lines = [l for l in res.stdout.splitlines() if l.strip()]
        check(re.fullmatch(r"would delete 2 messages \([^)]+\); nothing deleted \(--dry-run\)", lines[-1]),
              f"purge {flag}: last line says it would delete 2 and deleted nothing: {lines[-1]!r}", res)
        eq([l.split("\t")[2] for l in lines[:-1]], [box.uid(2), box.uid(3)], f"purge {flag}: the rows", res)
        expect_remaining(box, [], f"purge {flag} 2-3", res)
    res = purge(ctx, box, ["--dry-run", "--all", "--yes"])
    expect_ok(res, "purge --dry-run --all --yes")
    expect_remaining(box, [], "purge --dry-run --all --yes (dry run wins)", res)


@scenario
def purge_dry_run_json(ctx):
    box = purge_box(ctx, "dryjson")
    res = purge(ctx, box, ["--dry-run", "--larger-than", "50K"], json_out=True)
    expect_ok(res, "purge --json --dry-run")
    doc = res.json()
    eq(doc.get("dry_run"), True, "dry_run", res)
    check("deleted" not in doc, "a dry run has no 'deleted' list", res)
    eq([r.get("uid") for r in doc.get("would_delete", [])], [box.uid(4), box.uid(8)], "would_delete UIDs", res)
    eq(doc.get("count"), 2, "count", res)
    eq(doc.get("octets"), len(mw.crlf(box.msg(4))) + len(mw.crlf(box.msg(8))), "octets", res)
    expect_remaining(box, [], "purge --json --dry-run", res)


@scenario
def purge_dry_run_sends_no_dele(ctx):
    with mw.FakePop3([message("d1"), message("d2")]) as fake:
        res = ctx.run(fake.conn() + ["purge", "--dry-run", "--all"], password="x")
    expect_ok(res, "purge --dry-run --all (fake server)")
    eq([v for v in fake.verbs() if v == "DELE"], [], "DELE commands sent by a dry run", res)
    eq(fake.committed_deletes, [], "deleted by a dry run", res)


@scenario
def purge_quiet_reads_nothing_it_would_not_show(ctx):
    """-q --yes: nothing printed, no TOP (nobody sees the headers), every DELE sent; a filter
    on headers still reads them; a --json document still carries them."""
    msgs = [message(f"q{i}", frm=f"Sender{i} <s{i}@example.org>", subject=f"Subject {i}") for i in range(1, 6)]
    with mw.FakePop3(msgs) as fake:
        res = ctx.run(fake.conn() + ["-q", "purge", "--all", "--yes"], password="x")
    expect_ok(res, "purge -q --all --yes")
    eq(res.stdout, "", "purge -q --all --yes prints nothing", res)
    eq([v for v in fake.verbs() if v == "TOP"], [], "TOP commands of a quiet purge", res)
    eq(sorted(fake.committed_deletes), [1, 2, 3, 4, 5], "deleted by purge -q --all --yes", res)

    with mw.FakePop3(msgs) as fake:
        res = ctx.run(fake.conn() + ["-q", "purge", "--from", "Sender[24]", "--yes"], password="x")
    expect_ok(res, "purge -q --from --yes")
    eq(res.stdout, "", "purge -q --from --yes prints nothing", res)
    check("TOP" in fake.verbs(), "a filter on From reads the headers", res)
    eq(sorted(fake.committed_deletes), [2, 4], "deleted by purge -q --from Sender[24]", res)

    with mw.FakePop3(msgs) as fake:
        res = ctx.run(fake.conn() + ["-q", "--json", "purge", "1", "--yes"], password="x")
    expect_ok(res, "purge -q --json 1 --yes")
    eq([r.get("from") for r in res.json().get("deleted", [])], ["Sender1 <s1@example.org>"],
       "the JSON document of a quiet purge still shows From", res)

    box = purge_box(ctx, "quiet")
    res = purge(ctx, box, ["2-3", "--yes"] + ["-q"])
    expect_ok(res, "purge 2-3 --yes -q (Dovecot)")
    eq(res.stdout, "", "purge -q prints nothing", res)
    expect_remaining(box, [2, 3], "purge 2-3 --yes -q", res)


@scenario
def purge_json(ctx):
    box = purge_box(ctx, "json")
    res = purge(ctx, box, ["2,6,7", "--yes"], json_out=True)
    expect_ok(res, "purge --json 2,6,7 --yes")
    doc = res.json()
    eq(sorted(doc), ["count", "deleted", "dry_run", "octets"], "keys of the purge document", res)
    eq(doc["dry_run"], False, "dry_run", res)
    eq(doc["count"], 3, "count", res)
    eq(doc["octets"], sum(len(mw.crlf(box.msg(k))) for k in (2, 6, 7)), "octets", res)
    for row, k in zip(doc["deleted"], (2, 6, 7)):
        s = box.specs[k - 1]
        eq({key: row.get(key, "<missing>") for key in ("number", "octets", "uid", "from", "subject", "date")},
           {"number": k, "octets": len(mw.crlf(box.msg(k))), "uid": box.uid(k),
            "from": s.get("frm_decoded", s["frm"]), "subject": s.get("subject_decoded", s["subject"]),
            "date": rfc3339(s["date"]) if s["date"] else None},
           f"deleted entry for message {k} (like list --headers --json)", res)
    eq(len(doc["deleted"]), 3, "deleted entries", res)
    expect_remaining(box, [2, 6, 7], "purge --json", res)


@scenario
def purge_json_nothing_matches(ctx):
    box = purge_box(ctx, "jsonnone")
    res = purge(ctx, box, ["--subject", "no such subject", "--yes"], json_out=True)
    expect_ok(res, "purge --json, nothing matches")
    doc = res.json()
    eq((doc.get("dry_run"), doc.get("deleted"), doc.get("count"), doc.get("octets")), (False, [], 0, 0),
       "dry_run, deleted, count, octets", res)
    expect_remaining(box, [], "purge --json, nothing matches", res)


@scenario
def purge_without_selection(ctx):
    box = purge_box(ctx, "nosel")
    for args in (["--yes"], ["--dry-run"], []):
        res = purge(ctx, box, args)
        mw.expect_error(res, 64, r"selection|--all", "purge " + " ".join(args) + " (no selection)")
    expect_remaining(box, [], "purge without a selection", res)


@scenario
def purge_not_a_tty_needs_yes(ctx):
    """No terminal and no --yes/--dry-run: usage error 64, before connecting."""
    box = purge_box(ctx, "notty")
    res = purge(ctx, box, ["3"])
    mw.expect_error(res, 64, r"--yes", "purge 3 without a terminal and without --yes")
    expect_remaining(box, [], "purge 3 without --yes", res)
    with mw.FakePop3([message("t1")]) as fake:
        res = ctx.run(fake.conn() + ["purge", "1"], password="x")
        mw.expect_error(res, 64, r"--yes", "purge 1 without --yes (fake server)")
        eq(fake.connections, 0, "connections made before the usage error", res)


@scenario
def purge_missing_number(ctx):
    box = purge_box(ctx, "missnum")
    for args in (["3,99", "--yes"], ["7-12", "--yes"], ["9", "--dry-run"]):
        res = purge(ctx, box, args)
        mw.expect_error(res, 65, r"\b(99|9|12)\b.*(not exist|no such)|(not exist|no such).*\b(99|9|12)\b",
                        "purge " + " ".join(args) + " (a number the mailbox does not have)")
    expect_remaining(box, [], "purge of a number that does not exist (nothing else deleted)", res)


@scenario
def purge_missing_uid(ctx):
    box = purge_box(ctx, "missuid")
    res = purge(ctx, box, ["--uid", box.uid(1), "--uid", "no-such-uid", "--yes"])
    mw.expect_error(res, 65, r"no-such-uid", "purge --uid EXISTING --uid MISSING")
    expect_remaining(box, [], "purge with a missing UID (nothing deleted)", res)
    res = purge(ctx, box, ["--uid-file", "-", "--yes"], stdin=f"{box.uid(2)}\nno-such-uid\n")
    mw.expect_error(res, 65, r"no-such-uid", "purge --uid-file - with a missing UID")
    expect_remaining(box, [], "purge --uid-file - with a missing UID (nothing deleted)", res)


@scenario
def purge_pipe_from_list(ctx):
    """mailwrench --json list --from X | jq -r '.messages[].uid' | mailwrench purge --uid-file - --yes"""
    box = purge_box(ctx, "pipe")
    env = ctx.base_env(None)
    env["MAILWRENCH_PASSWORD"] = box.password
    mwcmd = " ".join(shlex.quote(a) for a in [ctx.bin] + box.conn())
    jq = shutil.which("jq")
    if jq:
        cmd = (f"set -e; {mwcmd} --json list --from 'lists\\.example\\.net' | {shlex.quote(jq)} -r "
               f"'.messages[].uid' | {mwcmd} purge --uid-file - --yes")
        p = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, text=True, env=env, timeout=60)
        res = mw.Result(["/bin/sh", "-c", cmd], p.returncode, p.stdout, p.stderr, 0.0)
    else:
        print("  (no jq here: the jq step is done in Python)")
        listed = box.run(["--json", "list", "--from", r"lists\.example\.net"])
        expect_ok(listed, "list --json --from")
        uids = "".join(m["uid"] + "\n" for m in listed.json()["messages"])
        res = purge(ctx, box, ["--uid-file", "-", "--yes"], stdin=uids)
    expect_ok(res, "list --json | jq | purge --uid-file - --yes")
    check(re.search(r"^deleted 2 messages", res.stdout, re.M), "says it deleted 2 messages", res)
    expect_remaining(box, [2, 5], "the list | jq | purge pipe", res)


@scenario
def purge_quit_refused(ctx):
    """-ERR to QUIT: nothing was deleted, and purge must not say otherwise (75)."""
    with mw.FakePop3([message("q1"), message("q2")], quit_reply="-ERR [SYS/TEMP] cannot delete now") as fake:
        res = ctx.run(fake.conn() + ["purge", "1", "--yes"], password="x")
    mw.expect_error(res, 75, r"QUIT|delet", "purge, QUIT answered -ERR")
    check(not re.search(r"^deleted", res.stdout, re.M), "no 'deleted ...' line", res)
    eq(fake.verbs().count("DELE"), 1, "DELE sent for the one message", res)


@scenario
def purge_quit_dropped(ctx):
    """The connection drops instead of the reply to QUIT: 74 (or 75), and no claim of success."""
    with mw.FakePop3([message("q1"), message("q2")], quit_reply="close") as fake:
        res = ctx.run(fake.conn() + ["purge", "2", "--yes"], password="x")
    check(res.rc in (74, 75), f"exit code {res.rc}, expected 74 (or 75)", res)
    check(res.stderr_lines and re.search(r"may|not.*deleted|check", res.stderr_lines[-1]),
          "the error says the deletion is uncertain", res)
    check(not re.search(r"^deleted", res.stdout, re.M), "no 'deleted ...' line", res)


if __name__ == "__main__":
    raise SystemExit(mw.main())
