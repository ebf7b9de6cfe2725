#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 13, item 6: top takes the selection purge takes (message numbers, ranges, --uid, the
filters), shows each selected message in turn (with a "==> message N (UID U) <==" line before
each when there are several, as head(1) does with several files; a single message exactly as
before), --lines N body lines, JSON {"messages": [...]}, and sends TOP for the selected messages
only. Against the real Dovecot fixture (alice's 20 messages, read only; the rescue flow in a
scratch mailbox), the terminal and no-UIDL cases against the scripted server of tests/support."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_error, expect_ok, scenario  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer, on  # noqa: E402

PASSWORD = "topsel-Pa55-" + os.urandom(4).hex()
TOP_LINE = re.compile(r"^> TOP (\d+) (\d+)$", re.M)


def heading(number: int, uid: str | None) -> str:
    return f"==> message {number}" + (f" (UID {uid})" if uid else "") + " <==\n"


def several(ctx, numbers: list[int], lines: int, user: str = "alice") -> str:
    """What plain top prints for several messages: a heading line before each, an empty line
    between them."""
    return "\n".join(heading(n, ctx.msg(n, user)["uid"]) + ctx.top_text(n, lines, user) for n in numbers)


def top(ctx, args: list[str], user: str = "alice", verbose: bool = False) -> mw.Result:
    return ctx.run(ctx.conn(user=user) + (["-v"] if verbose else []) + ["top"] + args, user=user)


def tops_sent(res: mw.Result) -> list[tuple[int, int]]:
    """The TOP commands of the -v transcript (stderr), as (number, lines), in the order sent."""
    return [(int(n), int(k)) for n, k in TOP_LINE.findall(res.stderr)]


def expect_several(ctx, args: list[str], numbers: list[int], lines: int, what: str | None = None):
    what = what or "top " + " ".join(args)
    res = top(ctx, args)
    expect_ok(res, what)
    eq(res.stdout, several(ctx, numbers, lines), f"{what}: messages {numbers}, each after its heading", res)
    return res


@scenario
def top_two_numbers(ctx):
    """`top 3 10` is messages 3 and 10 (no longer message 3 with 10 body lines)."""
    expect_several(ctx, ["3", "10"], [3, 10], 0)
    expect_several(ctx, ["3", "10", "--lines", "2"], [3, 10], 2)
    # Given in any order, shown in the order of their numbers; a number given twice, once.
    expect_several(ctx, ["10", "3", "--lines", "2", "3"], [3, 10], 2)


@scenario
def top_ranges_and_lists(ctx):
    expect_several(ctx, ["1,4", "7-8", "--lines", "1"], [1, 4, 7, 8], 1)
    n = ctx.box()["count"]
    expect_several(ctx, [f"{n - 2}-"], [n - 2, n - 1, n], 0)


@scenario
def top_one_message_has_no_heading(ctx):
    """One message selected, however it is selected: exactly the message, as before issue 13.6."""
    uid = ctx.msg(9)["uid"]
    for args in (["9"], ["9-9"], ["--uid", uid], ["9", "--uid", uid], ["--from", r"cafe@example\.fr"]):
        res = top(ctx, args + ["--lines", "3"])
        expect_ok(res, "top " + " ".join(args))
        eq(res.stdout, ctx.top_text(9, 3), f"top {' '.join(args)} --lines 3: message 9 alone, no heading", res)
        check("==>" not in res.stdout, f"top {' '.join(args)}: a heading line for a single message", res)


@scenario
def top_by_uid(ctx):
    """--uid as purge takes it: repeatable, any of them (OR)."""
    u2, u17 = ctx.msg(2)["uid"], ctx.msg(17)["uid"]
    expect_several(ctx, ["--uid", u17, "--uid", u2, "--lines", "4"], [2, 17], 4)
    uid_file = ctx.file("uids", f"{u17}\n\n  {u2}  \n")
    expect_several(ctx, ["--uid-file", str(uid_file), "--lines", "4"], [2, 17], 4)
    res = ctx.run(ctx.conn() + ["top", "--uid-file", "-"], user="alice", stdin=f"{u2}\n")
    expect_ok(res, "top --uid-file - (one UID on stdin)")
    eq(res.stdout, ctx.top_text(2, 0), "top --uid-file -: message 2 alone", res)


@scenario
def top_by_size(ctx):
    big = [m["number"] for m in ctx.messages() if m["octets"] > 50 * 1024]
    check(len(big) >= 2, f"fixture: alice has {len(big)} messages over 50K, the test needs two or more")
    res = expect_several(ctx, ["--larger-than", "50K", "--lines", "2"], big, 2, "top --larger-than 50K")
    eq(sorted(set(tops_sent(top(ctx, ["--larger-than", "50K"], verbose=True)))), [(n, 0) for n in big],
       "TOP commands for --larger-than 50K", res)


@scenario
def top_by_from(ctx):
    lists = [m["number"] for m in ctx.messages() if re.search(r"@lists\.example\.net>", m["from"])]
    check(len(lists) >= 2, f"fixture: alice has {len(lists)} messages from lists.example.net")
    expect_several(ctx, ["--from", r"@lists\.example\.net", "--lines", "3"], lists, 3)
    # AND with numbers: only the list messages among 1-9.
    within = [n for n in lists if n <= 9]
    check(len(within) >= 2, f"fixture: {within} list messages in 1-9")
    expect_several(ctx, ["1-9", "--from", r"@lists\.example\.net"], within, 0)


@scenario
def top_all(ctx):
    n = ctx.box()["count"]
    expect_several(ctx, ["--all"], list(range(1, n + 1)), 0)


@scenario
def top_json_messages(ctx):
    res = ctx.run(ctx.conn() + ["--json", "top", "9", "2", "--lines", "3"], user="alice")
    expect_ok(res, "--json top 9 2 --lines 3")
    doc = res.json()
    eq(sorted(doc), ["messages"], "--json top: the document's keys", res)
    eq([{k: m.get(k) for k in ("number", "uid", "lines", "content")} for m in doc["messages"]],
       [{"number": n, "uid": ctx.msg(n)["uid"], "lines": 3, "content": ctx.top_text(n, 3)} for n in (2, 9)],
       "--json top: messages 2 and 9 (number, uid, lines, content), no heading lines", res)
    # One message: an array of one; no message matched: an empty array.
    res = ctx.run(ctx.conn() + ["--json", "top", "--uid", ctx.msg(5)["uid"]], user="alice")
    expect_ok(res, "--json top --uid (message 5)")
    eq(res.json(), {"messages": [{"number": 5, "uid": ctx.msg(5)["uid"], "lines": 0,
                                  "content": ctx.top_text(5, 0)}]}, "--json top --uid: one message", res)
    res = ctx.run(ctx.conn() + ["--json", "top", "--subject", "no subject is like this one"], user="alice")
    expect_ok(res, "--json top --subject (no match)")
    eq(res.json(), {"messages": []}, "--json top matching nothing", res)


@scenario
def top_matching_nothing(ctx):
    """A filter that matches nothing, an empty --uid-file, an open range past the end: nothing
    printed, exit 0 (as for list and purge)."""
    n = ctx.box()["count"]
    empty = ctx.file("empty-uids", "")
    for args in (["--subject", "no subject is like this one"], ["--uid-file", str(empty)],
                 [f"{n + 5}-"], ["--smaller-than", "10"]):
        res = top(ctx, args, verbose=True)
        expect_ok(res, "top " + " ".join(args))
        eq(res.stdout, "", f"top {' '.join(args)}: stdout", res)
        eq([t for t in tops_sent(res) if t[1] != 0], [], f"top {' '.join(args)}: TOP commands with lines", res)


@scenario
def top_missing_uid_or_number(ctx):
    """A UID or number the mailbox does not have: exit 65, nothing on stdout, no TOP at all (not
    even for the messages that do exist)."""
    n = ctx.box()["count"]
    u3 = ctx.msg(3)["uid"]
    for args, named in ((["--uid", "no-such-uid"], "no-such-uid"),
                        (["--uid", u3, "--uid", "no-such-uid", "--lines", "5"], "no-such-uid"),
                        (["3", str(n + 1)], str(n + 1)),
                        ([f"{n - 1}-{n + 3}"], str(n + 1))):
        what = "top " + " ".join(args)
        res = top(ctx, args)
        expect_error(res, 65, re.escape(named), what)
        eq(res.stdout, "", f"{what}: stdout", res)
        res = top(ctx, args, verbose=True)
        eq(res.rc, 65, f"-v {what}: exit code", res)
        eq(tops_sent(res), [], f"-v {what}: TOP commands sent", res)
        res = ctx.run(ctx.conn() + ["--json", "top"] + args, user="alice")
        eq(res.rc, 65, f"--json {what}: exit code", res)
        eq(sorted(res.json()), ["error"], f"--json {what}: only the error document", res)


@scenario
def top_without_selection(ctx):
    """Like purge: no selection is a usage error (64); --lines and --raw are no selection."""
    for args in ([], ["--lines", "5"], ["--raw"]):
        res = top(ctx, args)
        expect_error(res, 64, r"selection|--all", "top " + " ".join(args))
        eq(res.stdout, "", f"top {' '.join(args)}: stdout", res)


@scenario
def top_sends_top_only_for_the_selected(ctx):
    """The -v transcript: LIST and UIDL, then one TOP n N for each selected message and no other
    (a header filter first reads the headers it filters on: TOP n 0 within the numbers given)."""
    u12 = ctx.msg(12)["uid"]
    for args, want in ((["3", "5", "--lines", "2"], [(3, 2), (5, 2)]),
                       (["--uid", u12, "--lines", "4"], [(12, 4)]),
                       (["7-9", "--lines", "1"], [(7, 1), (8, 1), (9, 1)]),
                       (["3"], [(3, 0)])):
        what = "top " + " ".join(args)
        res = top(ctx, args, verbose=True)
        expect_ok(res, what)
        eq(tops_sent(res), want, f"{what}: TOP commands sent", res)
        sent = [ln[2:] for ln in res.stderr.splitlines() if ln.startswith("> ")]
        check("LIST" in sent and "UIDL" in sent and sent.index("LIST") < sent.index(f"TOP {want[0][0]} {want[0][1]}"),
              f"{what}: LIST and UIDL before the TOPs", res)
    res = top(ctx, ["1-6", "--from", "dots@", "--lines", "5"], verbose=True)
    expect_ok(res, "top 1-6 --from dots@ --lines 5")
    eq(tops_sent(res), [(n, 0) for n in range(1, 7)] + [(3, 5)],
       "top 1-6 --from dots@: the headers of 1-6 read, then TOP 3 5 only", res)
    eq(res.stdout, ctx.top_text(3, 5), "top 1-6 --from dots@: message 3", res)


@scenario
def top_rescue_flow(ctx):
    """The README's rescue flow, one kind of name throughout: list shows the UID, top --uid looks
    at that message, purge --uid deletes exactly it; top --uid afterwards: 65."""
    box = ctx.mailbox([mw.message("resc-small1", body="small one\n"),
                       mw.message("resc-huge", subject="scans", body="".join(f"line {i}\n" for i in range(1, 40)),
                                  size=300_000),
                       mw.message("resc-small2", body="small two\n")], "rescue")
    res = box.run(["--json", "list", "--larger-than", "200K"])
    expect_ok(res, "list --larger-than 200K")
    found = res.json()["messages"]
    eq([m["uid"] for m in found], [box.uid_of(box.messages[1])], "list --larger-than 200K: the huge one", res)
    uid = found[0]["uid"]
    res = box.run(["top", "--uid", uid, "--lines", "5"])
    expect_ok(res, f"top --uid {uid} --lines 5")
    huge = box.by_uid(uid).decode()
    head, body = huge.split("\n\n", 1)
    eq(res.stdout, head + "\n\n" + "".join(ln + "\n" for ln in body.split("\n")[:5]),
       "top --uid --lines 5: the huge message's headers and first 5 body lines", res)
    check("==>" not in res.stdout, "top --uid: no heading line for one message", res)
    res = box.run(["purge", "--uid", uid, "--yes"])
    expect_ok(res, f"purge --uid {uid} --yes")
    eq(box.server_uids(), [u for u in box.uids if u != uid], "the server's UIDs after purge --uid", res)
    res = box.run(["top", "--uid", uid])
    expect_error(res, 65, re.escape(uid), f"top --uid {uid} after it was purged")
    eq(res.stdout, "", "top --uid of the purged message: stdout", res)
    # The two left, by their UIDs, with headings.
    left = box.server_uids()
    res = box.run(["top", "--uid", left[0], "--uid", left[1], "--lines", "1"])
    expect_ok(res, "top --uid A --uid B")
    eq([ln for ln in res.stdout.splitlines() if ln.startswith("==>")],
       [f"==> message 1 (UID {left[0]}) <==", f"==> message 2 (UID {left[1]}) <=="],
       "top of the two messages left: their headings", res)


def scripted_args(srv: ScriptedServer) -> list[str]:
    if all(secret != PASSWORD for secret, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (PASSWORD, "<password of the scripted server's user>"))
    return ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
            "-u", "topsel", "--timeout", "20"]


@scenario
def top_several_on_a_terminal(ctx):
    """On a terminal the headings come too, and each message is made safe; into a pipe the bytes
    of each message as the server sent them, between the headings."""
    m1 = b"From: a@example.org\nSubject: \x1b]0;title\x07one\n\nbody one\n"
    m2 = b"From: b@example.org\nSubject: two\n\nbody two\n"
    with ScriptedServer([], fallback=Pop3Mailbox([m1, m2], uids=["ua", "ub"])) as srv:
        res, out, _ = ctx.run_bytes(scripted_args(srv) + ["top", "1-2", "--lines", "1"], password=PASSWORD, tty=True)
        expect_ok(res, "top 1-2 on a terminal")
        eq(out, b"==> message 1 (UID ua) <==\nFrom: a@example.org\nSubject: \\x1b]0;title\\x07one\n\nbody one\n"
                b"\n==> message 2 (UID ub) <==\n" + m2, "top 1-2 on a terminal", res)
        res, out, _ = ctx.run_bytes(scripted_args(srv) + ["top", "1-2", "--lines", "1"], password=PASSWORD)
        expect_ok(res, "top 1-2 into a pipe")
        eq(out, b"==> message 1 (UID ua) <==\n" + m1 + b"\n==> message 2 (UID ub) <==\n" + m2,
           "top 1-2 into a pipe", res)


@scenario
def top_several_one_refused(ctx):
    """The server refuses the TOP of one of several messages (another session deleted it): the
    others are shown, with their headings and no stray empty line, and the exit status is 65,
    naming the refused one."""
    msgs = [mw.message(f"refused{i}", body=f"body {i}\n") for i in (1, 2, 3)]
    heads = [m.split(b"\n\n", 1)[0].decode() + "\n\n" for m in msgs]
    for refused, shown in ((1, (2, 3)), (2, (1, 3)), (3, (1, 2))):
        with ScriptedServer([on(rf"TOP {refused} \d+", "-ERR no such message", times=None)],
                            fallback=Pop3Mailbox(msgs, uids=["r1", "r2", "r3"])) as srv:
            res = ctx.run(scripted_args(srv) + ["top", "1-3"], password=PASSWORD)
        what = f"top 1-3, TOP {refused} refused"
        expect_error(res, 65, rf"TOP {refused}\b", what)
        eq(res.stdout, "\n".join(f"==> message {n} (UID r{n}) <==\n" + heads[n - 1] for n in shown),
           f"{what}: the other two, each after its heading", res)


@scenario
def top_several_without_uidl(ctx):
    """A server without UIDL: numbers still select, the headings have no UID part, JSON uid is
    null; --uid needs UIDL (69)."""
    msgs = [mw.message(f"nouidl{i}", body=f"body {i}\n") for i in (1, 2, 3)]
    box = Pop3Mailbox(msgs, capa=("TOP", "USER", "PIPELINING"))
    with ScriptedServer([on(r"UIDL.*", "-ERR no UIDL here", times=None)], fallback=box) as srv:
        res = ctx.run(scripted_args(srv) + ["top", "1,3"], password=PASSWORD)
        expect_ok(res, "top 1,3 without UIDL")
        heads = [m.split(b"\n\n", 1)[0].decode() + "\n\n" for m in msgs]
        eq(res.stdout, "==> message 1 <==\n" + heads[0] + "\n==> message 3 <==\n" + heads[2],
           "top 1,3 without UIDL: headings without UID", res)
        res = ctx.run(scripted_args(srv) + ["--json", "top", "2"], password=PASSWORD)
        expect_ok(res, "--json top 2 without UIDL")
        eq(res.json(), {"messages": [{"number": 2, "uid": None, "lines": 0, "content": heads[1]}]},
           "--json top 2 without UIDL", res)
        res = ctx.run(scripted_args(srv) + ["top", "--uid", "x"], password=PASSWORD)
        expect_error(res, 69, r"UIDL", "top --uid without UIDL")
        eq(res.stdout, "", "top --uid without UIDL: stdout", res)


if __name__ == "__main__":
    sys.exit(mw.main())
