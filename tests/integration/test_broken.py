#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 14: the `--broken[=CODES]` selector of list, fetch and purge. It checks the candidates
the other selectors leave (as `check` does) and acts on those with an error finding (or a
finding with one of CODES). Against the real Dovecot fixture (crafted broken messages among
clean ones: listed with their codes, fetched alone, shown by purge --dry-run, deleted by purge
--yes and nothing else), and against the scripted server of tests/support that drops the
connection inside one message: that message is still deletable, by UID, in a new session."""
from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_ok, scenario  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer, close, on, pop3_wire  # noqa: E402
from terminal import TmuxTerminal  # noqa: E402

PASSWORD = "broken-Pa55-" + os.urandom(4).hex()


def hide_password():
    if all(secret != PASSWORD for secret, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (PASSWORD, "<password of the scripted server's user>"))


def scripted(ctx, srv: ScriptedServer, args: list[str], timeout: int = 10) -> mw.Result:
    hide_password()
    res = ctx.run(["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
                   "-u", "broken", "--timeout", str(timeout)] + args, password=PASSWORD, timeout=60)
    srv.settle()
    return res


def clean(tag: str) -> bytes:
    return mw.message(tag, body=f"{tag}: a clean message.\n")


# Messages 2, 3 and 5 are broken (each with a Message-ID); 1, 4 and 6 are clean.
NUL = mw.message("bnul", body=b"a NUL \x00 in the body\n")
TRUNCATED = mw.message("btrunc", headers=["Content-Type: multipart/mixed; boundary=zz"],
                       body="--zz\nContent-Type: text/plain\n\nfirst part\n--zz\n\nnever ends\n")
BASE64 = mw.message("bb64", headers=["Content-Type: application/octet-stream",
                                     "Content-Transfer-Encoding: base64"],
                    body="aGVsbG8g***garbage***d29ybGQ=\n")
MAILBOX = [clean("bfirst"), NUL, TRUNCATED, clean("bmiddle"), BASE64, clean("blast")]
BROKEN = {2: "nul-byte", 3: "mime-truncated", 5: "base64-invalid"}


def rows(doc: dict, key: str = "messages") -> dict[int, list[str]]:
    """{number: problems} of a list or purge --json document."""
    return {m["number"]: m["problems"] for m in doc[key]}


@scenario
def list_broken_dovecot(ctx):
    """list --broken shows only the broken messages, each with its codes (JSON "problems", a
    column in plain); --broken=CODE only those with that code; with other selectors only their
    candidates are downloaded."""
    box = ctx.mailbox(MAILBOX, "brokenlist")
    res = box.run(["--json", "list", "--broken"])
    expect_ok(res, "list --broken")
    got = rows(res.json())
    eq(sorted(got), sorted(BROKEN), "the broken messages", res)
    for n, code in BROKEN.items():
        check(code in got[n], f"message {n} has {code}: {got[n]}", res)
        eq(next(m["uid"] for m in res.json()["messages"] if m["number"] == n), box.uid(n),
           f"message {n}'s UID", res)

    res = box.run(["--json", "list", "--broken=nul-byte,base64-invalid"])
    expect_ok(res, "list --broken=CODES")
    eq(sorted(rows(res.json())), [2, 5], "only the messages with those codes", res)

    res = box.run(["list", "--broken"])
    expect_ok(res, "plain list --broken")
    lines = res.stdout.splitlines()
    eq([line.split("\t")[0] for line in lines], ["2", "3", "5"], "a row per broken message", res)
    check(lines[1].split("\t")[3] == "mime-truncated", f"the codes column: {lines[1]!r}", res)

    res = box.run(["-v", "list", "1", "2", "4", "--broken"])
    expect_ok(res, "list --broken with numbers")
    eq([line.split("\t")[0] for line in res.stdout.splitlines()], ["2"], "only 2 of 1, 2, 4", res)
    retrs = re.findall(r"^> RETR (\d+)$", res.stderr, re.M)
    eq(sorted(retrs), ["1", "2", "4"], "only the candidates are downloaded", res)

    # A word after a bare --broken is its codes: a number there is a usage error that says so.
    res = box.run(["list", "--broken", "2"])
    eq(res.rc, 64, "list --broken 2: exit status", res)
    check("put message numbers before --broken" in res.stderr, "the hint", res)

    # A code that exists but that no message has: nothing, exit 0.
    res = box.run(["--json", "list", "--broken=header-too-large"])
    expect_ok(res, "list --broken=header-too-large")
    eq(res.json()["messages"], [], "no message has it", res)


@scenario
def broken_unknown_code(ctx):
    """An unknown code is a usage error (64) that lists the known codes, before connecting."""
    for command in (["list"], ["purge", "--dry-run"], ["fetch", "-o", "-"]):
        res = ctx.run(ctx.conn() + ["-v"] + command + ["--broken=nul-byte,no-such-code"])
        eq(res.rc, 64, f"{command[0]} --broken=no-such-code: exit status", res)
        check("no-such-code" in res.stderr and "nul-byte" in res.stderr and
              "connection-lost" in res.stderr, "the error lists the known codes", res)
        check(not re.search(r"^> (CAPA|USER|AUTH)", res.stderr, re.M), "no connection", res)


@scenario
def purge_broken_dovecot(ctx):
    """purge --broken --dry-run shows the broken messages with their codes and deletes nothing;
    purge --broken --yes deletes exactly them; purge --broken alone needs no other selector."""
    box = ctx.mailbox(MAILBOX, "brokenpurge")
    before = box.server_uids()
    res = box.run(["--json", "purge", "--broken", "--dry-run"])
    expect_ok(res, "purge --broken --dry-run --json")
    doc = res.json()
    eq(doc["dry_run"], True, "dry_run", res)
    got = rows(doc, "would_delete")
    eq(sorted(got), sorted(BROKEN), "would delete the broken ones", res)
    check(all(code in got[n] for n, code in BROKEN.items()), f"with their codes: {got}", res)
    eq(box.server_uids(), before, "nothing deleted by --dry-run", res)

    res = box.run(["purge", "--broken", "--dry-run"])
    expect_ok(res, "plain purge --broken --dry-run")
    check("nul-byte" in res.stdout and "mime-truncated" in res.stdout and "base64-invalid" in res.stdout,
          "the table shows the codes", res)
    check("would delete 3 messages" in res.stdout, "the summary", res)
    eq(box.server_uids(), before, "still nothing deleted", res)

    res = box.run(["--json", "purge", "--broken", "--yes"])
    expect_ok(res, "purge --broken --yes")
    eq(sorted(rows(res.json(), "deleted")), sorted(BROKEN), "deleted the broken ones", res)
    eq(box.server_uids(), [box.uid(n) for n in (1, 4, 6)], "the clean messages are left", res)

    res = box.run(["purge", "--broken", "--yes"])
    expect_ok(res, "purge --broken --yes of a clean mailbox")
    check("nothing deleted" in res.stdout, f"nothing to delete: {res.stdout!r}", res)
    eq(len(box.server_uids()), 3, "the clean messages are still there", res)


@scenario
def fetch_broken_dovecot(ctx):
    """fetch --broken stores only the broken messages (a copy before purging them)."""
    box = ctx.mailbox(MAILBOX, "brokenfetch")
    md = ctx.scratch / "broken" / "Maildir"
    res = box.run(["--json", "fetch", "--broken", "-o", f"maildir:{md}"])
    expect_ok(res, "fetch --broken")
    files = [p for sub in ("new", "cur") for p in (md / sub).iterdir()]
    mids = sorted(mw.message_id(p.read_bytes()) or "" for p in files)
    eq(mids, sorted(mw.message_id(box.msg(n)) or "" for n in BROKEN), "the broken ones stored", res)
    eq(len(box.server_uids()), len(MAILBOX), "nothing deleted", res)


def dropping(messages: list[bytes], poisoned: int) -> tuple[Pop3Mailbox, list]:
    """A mailbox whose server hangs up inside message `poisoned` every time it is asked for."""
    box = Pop3Mailbox(messages)
    part = pop3_wire(box.messages[poisoned - 1])[:40]
    return box, [on(rf"RETR {poisoned}$", b"+OK\r\n" + part, close(), times=None)]


@scenario
def purge_broken_server_drops(ctx):
    """The server drops the connection inside message 2 every time: purge --broken --dry-run
    shows it (connection-lost) and deletes nothing; purge --broken --yes deletes it, by UID, in
    the session reopened after the drop, and nothing else."""
    box, rules = dropping([clean("d1"), clean("d2"), clean("d3")], 2)
    with ScriptedServer(rules, fallback=box) as srv:
        res = scripted(ctx, srv, ["purge", "--broken", "--dry-run"])
        expect_ok(res, "purge --broken --dry-run")
        check("connection-lost" in res.stdout, "the table shows the code", res)
        check("would delete 1 message" in res.stdout, "one message", res)
        eq(box.committed_deletes, [], "nothing deleted by --dry-run", res)
        check(not any(l.startswith("DELE") for s in srv.sessions for l in s), "no DELE sent", res)
    box, rules = dropping([clean("d1"), clean("d2"), clean("d3")], 2)
    with ScriptedServer(rules, fallback=box) as srv:
        res = scripted(ctx, srv, ["--json", "purge", "--broken", "--yes"])
        expect_ok(res, "purge --broken --yes")
        deleted = res.json()["deleted"]
        eq([(m["number"], m["uid"], m["problems"]) for m in deleted], [(2, box.uids[1], ["connection-lost"])],
           "message 2 deleted", res)
        eq(box.committed_deletes, [2], "the server deleted message 2 only", res)
        eq(len(srv.sessions), 2, "one reopened session", res)
        dele = [l for l in srv.sessions[1] if l.startswith("DELE")]
        eq(dele, ["DELE 2"], "DELE in the reopened session", res)
        check(any(l.startswith("UIDL") for l in srv.sessions[1]), "found again by UIDL", res)


@scenario
def purge_broken_one_uid_twice(ctx):
    """The server gives one UID to a clean message (1) and a broken one (2): purge --broken
    deletes message 2, the one the check found broken, never its clean namesake; after a
    reconnect, where a UID cannot tell them apart, it deletes neither."""
    box = Pop3Mailbox([clean("u1"), NUL, clean("u3")], uids=["same", "same", "other"])
    with ScriptedServer([], fallback=box) as srv:
        res = scripted(ctx, srv, ["purge", "--broken", "--yes"])
        expect_ok(res, "purge --broken with one UID twice")
        eq(box.committed_deletes, [2], "the broken message, not its clean namesake", res)
    box = Pop3Mailbox([clean("v1"), clean("v2"), clean("v3")], uids=["same", "other", "same"])
    part = pop3_wire(box.messages[2])[:40]
    rules = [on(r"RETR 3$", b"+OK\r\n" + part, close(), times=None)]
    with ScriptedServer(rules, fallback=box) as srv:
        res = scripted(ctx, srv, ["purge", "--broken", "--yes"])
        eq(box.committed_deletes, [], "nothing deleted when the UID names two messages", res)
        check(res.rc in (0, 65), f"exit status {res.rc}", res)


@scenario
def purge_broken_asks(ctx):
    """purge --broken on a terminal shows the broken message with its code and asks; n deletes
    nothing, y deletes it (the one the server drops the connection in), and nothing else."""
    for answer, deleted in (("n", []), ("y", [2])):
        box, rules = dropping([clean("q1"), clean("q2"), clean("q3")], 2)
        with ScriptedServer(rules, fallback=box) as srv:
            hide_password()
            args = ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
                    "-u", "broken", "--timeout", "10", "purge", "--broken"]
            term = TmuxTerminal(ctx, shlex.join([ctx.bin] + args) + " 2>err.log", password=PASSWORD,
                                width=120)
            try:
                screen = term.wait_for("[y/N]")
                term.keys(answer, "Enter")
                code = term.exit_code()
                srv.settle()
            finally:
                term.close()
            what = f"purge --broken answered {answer}"
            check("connection-lost" in screen and "PROBLEMS" in screen,
                  f"{what}: the table shows the code:\n{screen}")
            check("Delete 1 message" in screen, f"{what}: the question:\n{screen}")
            eq(code, 0, f"{what}: exit code")
            eq(box.committed_deletes, deleted, f"{what}: deletions the server committed")


@scenario
def purge_broken_last_message_drops(ctx):
    """The poisoned message is the last one (the check ends with no session): a new session is
    opened and it is deleted there."""
    box, rules = dropping([clean("l1"), clean("l2"), clean("l3")], 3)
    with ScriptedServer(rules, fallback=box) as srv:
        res = scripted(ctx, srv, ["purge", "--broken", "--yes"])
        expect_ok(res, "purge --broken --yes")
        eq(box.committed_deletes, [3], "message 3 deleted, nothing else", res)
        check("deleted 1 message" in res.stdout, f"the summary: {res.stdout!r}", res)


class FirstGoesAway:
    """The server hangs up inside message `poisoned` once, and meanwhile another client deletes
    message 1: in the next session every message after it has a number one lower."""

    def __init__(self, box: Pop3Mailbox, poisoned: int):
        self.box, self.poisoned, self.fired = box, poisoned, False

    def session(self):
        inner = self.box.session()

        def handle(line: str):
            if line.upper() == f"RETR {self.poisoned}" and not self.fired:
                self.fired = True
                part = pop3_wire(self.box.messages[self.poisoned - 1])[:40]
                del self.box.messages[0]
                del self.box.uids[0]
                return [b"+OK\r\n" + part, close()]
            return inner(line)

        return handle


@scenario
def purge_broken_renumbered_after_drop(ctx):
    """The server drops inside message 2 and message 1 is gone in the next session: the broken
    message is now number 1 there, found by its UID, and DELE 1 deletes it (not the message
    that is now number 2)."""
    box = Pop3Mailbox([clean("r1"), clean("r2"), clean("r3")])
    poisoned_uid = box.uids[1]
    with ScriptedServer([], fallback=FirstGoesAway(box, 2)) as srv:
        res = scripted(ctx, srv, ["--json", "purge", "--broken", "--yes"])
        expect_ok(res, "purge --broken --yes")
        eq([(m["number"], m["uid"]) for m in res.json()["deleted"]], [(1, poisoned_uid)],
           "the broken message, by its new number", res)
        eq([l for l in srv.sessions[-1] if l.startswith("DELE")], ["DELE 1"], "DELE 1", res)
        eq(box.committed_deletes, [1], "the server deleted its message 1", res)
        eq(box.uids, [poisoned_uid, "fake-uid-0003"], "which was the broken one (UIDs now)", res)


@scenario
def list_broken_code_server(ctx):
    """list --broken=CODE on the scripted server: message 2 drops the session, LIST lies about
    message 3's size; each code selects its message, --broken both."""
    msgs = [clean("c1"), clean("c2"), clean("c3")]
    for args, want in ((["--broken=connection-lost"], [2]), (["--broken=size-mismatch"], [3]),
                       (["--broken"], [2, 3])):
        box = Pop3Mailbox(msgs, list_sizes={3: len(pop3_wire(msgs[2])) + 10})
        rules = [on(r"RETR 2$", b"+OK\r\n" + pop3_wire(msgs[1])[:30], close(), times=None)]
        with ScriptedServer(rules, fallback=box) as srv:
            res = scripted(ctx, srv, ["--json", "list"] + args)
            expect_ok(res, f"list {args[0]}")
            eq(sorted(rows(res.json())), want, f"list {args[0]}", res)
            eq(box.committed_deletes, [], "nothing deleted", res)


if __name__ == "__main__":
    sys.exit(mw.main())
