#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 15, "Tested": `mailwrench session` in scripted mode (commands on standard input or from
--script FILE). Against the real Dovecot fixture (alice's 20 messages read only; everything that
deletes in a scratch mailbox of its own) and, for what a real server cannot be made to do (a
mailbox that changes under the session, hostile content, recording every line received), the
scripted servers of tests/support.

What is promised (common15.md, issue 15): every POP3 command of RFC 1939 plus CAPA and the helpers
(headers, show, check, help) answer with "> COMMAND" and the reply made safe (un-dot-stuffed, no
control bytes); --json writes one JSON object per command; QUIT commits the DELEs of the script
and a script without QUIT deletes nothing; the first failure stops the script (exit 1) unless
--keep-going; USER/PASS/APOP/AUTH are refused and never sent nor shown; DELE n is refused when n
no longer names the message it named at login."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_error, expect_ok, scenario  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer, on, pop3_wire  # noqa: E402

PASSWORD = "session-Pa55-" + os.urandom(4).hex()
# A secret typed into a script by mistake (after PASS, in an AUTH line): it must go nowhere.
TYPED_SECRET = "typed-Secret-" + os.urandom(6).hex()
IMPLICIT = " (the script ended without QUIT)"
STOPPED = " (the script stopped)"  # the RSET and QUIT after a failure stopped it


# --------------------------------------------------------------------------- helpers

def hide_secrets():
    for secret, marker in ((PASSWORD, "<password of the scripted server's user>"),
                           (TYPED_SECRET, "<the secret typed into the script>")):
        if all(s != secret for s, _ in mw._SECRETS):
            mw._SECRETS.insert(0, (secret, marker))


def session(ctx, script: str, args: list[str] = (), *, user: str = "alice", glob: list[str] = (),
            box: mw.Mailbox | None = None) -> mw.Result:
    """mailwrench CONN GLOBAL session ARGS with the script on standard input (a pipe)."""
    if box is not None:
        return ctx.run(box.conn() + list(glob) + ["session"] + list(args), password=box.password, stdin=script)
    return ctx.run(ctx.conn(user=user) + list(glob) + ["session"] + list(args), user=user, stdin=script)


def scripted_args(srv: ScriptedServer) -> list[str]:
    hide_secrets()
    return ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
            "-u", "sess", "--timeout", "20"]


def scripted(ctx, srv: ScriptedServer, script: str, args: list[str] = (), glob: list[str] = ()) -> mw.Result:
    res = ctx.run(scripted_args(srv) + list(glob) + ["session"] + list(args), password=PASSWORD, stdin=script)
    srv.settle()
    return res


def blocks(res: mw.Result, commands: list[str]) -> dict[str, str]:
    """The plain output cut at the "> COMMAND" lines of the commands given, in that order (a
    message's own "> quoted" lines are no cut): {command: what follows it up to the next one}.
    Fails when a command line is missing or the output does not start with the first one."""
    out = res.stdout
    starts = []
    pos = 0
    for c in commands:
        marker = f"> {c}\n"
        if pos == 0 and out.startswith(marker):
            i = 0
        else:
            j = out.find("\n" + marker, max(pos - 1, 0))
            check(j >= 0, f"no line '> {c}' (in this order) in the output", res)
            i = j + 1
        starts.append((c, i, i + len(marker)))
        pos = i + len(marker)
    eq(starts[0][1], 0, "the output starts with the first command's line", res)
    found = {}
    for k, (c, _, body) in enumerate(starts):
        end = starts[k + 1][1] if k + 1 < len(starts) else len(out)
        found[c] = out[body:end]
    return found


def json_lines(res: mw.Result) -> list[dict]:
    objects = []
    for n, line in enumerate(res.stdout.splitlines(), 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            mw.fail(f"--json: line {n} is not a JSON object ({e}): {line[:200]!r}", res)
        check(isinstance(obj, dict), f"--json: line {n} is not an object", res)
        objects.append(obj)
    return objects


def sent_commands(res: mw.Result) -> list[str]:
    """The commands of the -v transcript (stderr)."""
    return [ln[2:] for ln in res.stderr.splitlines() if ln.startswith("> ")]


def maildir_files(box: mw.Mailbox) -> int:
    return sum(1 for sub in ("cur", "new") for _ in (box.maildir / sub).iterdir())


def msgs3(tag: str) -> list[bytes]:
    return [mw.message(f"{tag}{i}", frm=f"Sender {i} <s{i}@example.org>", subject=f"{tag} subject {i}",
                       body=f"body of {tag} {i}\n") for i in (1, 2, 3)]


# --------------------------------------------------------------------------- 1, 2: every command

EVERY = ["STAT", "LIST", "LIST 3", "UIDL", "UIDL 3", "TOP 3 2", "RETR {dots}", "CAPA", "NOOP",
         "headers", "headers 2-3 --from dots@", "show 2", "check 1-2", "help", "QUIT"]


def every_script(ctx) -> list[str]:
    dots = ctx.tagged("dots")["number"]
    return [c.format(dots=dots) for c in EVERY]


def message_text(ctx, number: int) -> str:
    m = ctx.msg(number)
    check(m["body_line_count"] == len(m["body_lines"]), f"fixture: message {number} is longer than expected.json holds")
    return m["header"] + "\n" + "".join(l + "\n" for l in m["body_lines"])


@scenario
def every_command_plain(ctx):
    """Every command against Dovecot from a script on stdin: exit 0, "> COMMAND" before each reply,
    the replies as the server gave them (LIST/UIDL rows, TOP and RETR un-dot-stuffed), headers as
    list --headers shows them, show decoded, check as check reports."""
    commands = every_script(ctx)
    res = session(ctx, "\n".join(commands) + "\n")
    expect_ok(res, "session with every command")
    got = blocks(res, commands)
    box = ctx.box()
    n = box["count"]
    eq(got["STAT"], f"+OK {n} {box['octets']}\n", "STAT", res)
    listing = got["LIST"].splitlines()
    check(listing[0].startswith("+OK"), "LIST: status line", res)
    eq(listing[1:], [f"{m['number']} {m['octets']}" for m in ctx.messages()], "LIST: a row per message", res)
    eq(got["LIST 3"], f"+OK 3 {ctx.msg(3)['octets']}\n", "LIST 3", res)
    uidl = got["UIDL"].splitlines()
    check(uidl[0].startswith("+OK"), "UIDL: status line", res)
    eq(uidl[1:], [f"{m['number']} {m['uid']}" for m in ctx.messages()], "UIDL: a row per message", res)
    eq(got["UIDL 3"], f"+OK 3 {ctx.msg(3)['uid']}\n", "UIDL 3", res)
    eq(got["TOP 3 2"], "+OK\n" + ctx.top_text(3, 2), "TOP 3 2: status, headers, two body lines", res)
    dots = ctx.tagged("dots")["number"]
    text = message_text(ctx, dots)
    check(any(l.startswith(".") for l in text.splitlines()), "fixture: the dots message has lines starting with '.'")
    retr = got[f"RETR {dots}"]
    status, _, body = retr.partition("\n")
    check(re.fullmatch(r"\+OK.*", status), f"RETR {dots}: status line {status!r}", res)
    eq(body, text, f"RETR {dots}: the message un-dot-stuffed ('..' lines as '.')", res)
    capa = got["CAPA"].splitlines()
    check(capa[0].startswith("+OK") and "UIDL" in capa and "TOP" in capa, "CAPA: status and capabilities", res)
    check(re.fullmatch(r"\+OK[^\n]*\n", got["NOOP"]), "NOOP: one +OK line", res)
    # The helpers: what list --headers and check print for the same selection.
    for helper, args in (("headers", ["list", "--headers"]),
                         ("headers 2-3 --from dots@", ["list", "--headers", "2-3", "--from", "dots@"]),
                         ("check 1-2", ["check", "1-2"])):
        want = ctx.run(ctx.conn() + args, user="alice")
        expect_ok(want, " ".join(args))
        eq(got[helper], want.stdout, f"{helper}: as mailwrench {' '.join(args)} prints it", res)
    eq(got["headers 2-3 --from dots@"].count("\n"), 1 if 2 <= dots <= 3 else 0, "headers 2-3 --from: rows", res)
    m2 = ctx.msg(2)
    show = got["show 2"].splitlines()
    eq(show[0], "+OK", "show 2: status", res)
    check(f"From: {m2['from']}" in show and f"Subject: {m2['subject']}" in show,
          f"show 2: decoded From ({m2['from']!r}) and Subject ({m2['subject']!r})", res)
    check(all(l in show for l in m2["body_lines"] if l), "show 2: the text's lines", res)
    check("RETR n" in got["help"] and "DELE n" in got["help"] and "headers [SELECTION]" in got["help"],
          "help lists the commands", res)
    check(re.fullmatch(r"\+OK[^\n]*\n", got["QUIT"]), "QUIT: one +OK line, nothing deleted", res)
    eq(res.stderr, "", "stderr", res)


@scenario
def every_command_json(ctx):
    """--json: one JSON object per command, each line parses; command/ok/status; lines for data;
    RETR's lines are the message's lines."""
    commands = every_script(ctx)
    res = session(ctx, "\n".join(commands) + "\n", glob=["--json"])
    expect_ok(res, "--json session with every command")
    objs = json_lines(res)
    eq([o.get("command") for o in objs], commands, "--json: one object per command, in order", res)
    by = {o["command"]: o for o in objs}
    eq([c for c in commands if by[c].get("ok") is not True], [], "--json: commands not ok", res)
    for c in commands:
        if c.split()[0] not in ("headers", "check", "help"):
            check(isinstance(by[c].get("status"), str) and by[c]["status"].startswith("+OK"),
                  f"--json {c}: status", res)
    box = ctx.box()
    eq(by["STAT"]["status"], f"+OK {box['count']} {box['octets']}", "--json STAT", res)
    eq(by["LIST"]["lines"], [f"{m['number']} {m['octets']}" for m in ctx.messages()], "--json LIST lines", res)
    eq(by["UIDL 3"]["status"], f"+OK 3 {ctx.msg(3)['uid']}", "--json UIDL 3", res)
    check("lines" not in by["UIDL 3"], "--json UIDL 3: no lines", res)
    eq(by["TOP 3 2"]["lines"], ctx.top_text(3, 2).split("\n")[:-1], "--json TOP 3 2 lines", res)
    dots = ctx.tagged("dots")["number"]
    eq(by[f"RETR {dots}"]["lines"], message_text(ctx, dots).split("\n")[:-1],
       f"--json RETR {dots}: the message's lines, un-dot-stuffed", res)
    eq([m["number"] for m in by["headers"]["messages"]], list(range(1, box["count"] + 1)), "--json headers", res)
    eq(by["show 2"]["preview"]["headers"].get("Subject"), ctx.msg(2)["subject"], "--json show 2 Subject", res)
    eq(by["check 1-2"]["check"].get("checked"), 2, "--json check 1-2: checked", res)
    check("DELE n" in by["help"].get("help", ""), "--json help", res)
    check("deleted" not in by["QUIT"], "--json QUIT: no deletion to report", res)


# --------------------------------------------------------------------------- 3, 4: DELE and QUIT

@scenario
def dele_quit_deletes_exactly_that(ctx):
    """DELE 2 + QUIT deletes message 2 and no other (the server's listing and the Maildir);
    the DELE shows what it marks; --json: "marked" and "deleted": 1."""
    messages = msgs3("delq")
    box = ctx.mailbox(messages, "delq")
    uids = list(box.uids)
    res = session(ctx, "# delete the second\nDELE 2\nQUIT\n", box=box)
    expect_ok(res, "DELE 2, QUIT")
    got = blocks(res, ["DELE 2", "QUIT"])
    lines = got["DELE 2"].splitlines()
    check(lines[0].startswith("+OK"), "DELE 2: the server's +OK", res)
    eq(len(lines), 2, "DELE 2: status and one line saying what is marked", res)
    check(re.fullmatch(rf"marked 2 for deletion at QUIT: UID {re.escape(uids[1])}, .+, "
                       rf"From: Sender 2 <s2@example\.org>, Subject: delq subject 2", lines[1]),
          f"DELE 2: names number, UID, From and Subject: {lines[1]!r}", res)
    check(got["QUIT"].startswith("+OK") and got["QUIT"].endswith("the server deleted 1 message\n"),
          "QUIT: +OK and 'the server deleted 1 message'", res)
    eq(box.server_uids(), [uids[0], uids[2]], "the server's UIDs after DELE 2, QUIT", res)
    eq(maildir_files(box), 2, "files in the Maildir", res)
    # JSON, in the same mailbox: DELE 1 is the first message left.
    res = session(ctx, "DELE 1\nQUIT\n", box=box, glob=["--json"])
    expect_ok(res, "--json DELE 1, QUIT")
    objs = json_lines(res)
    eq([o["command"] for o in objs], ["DELE 1", "QUIT"], "--json commands", res)
    eq(objs[0]["marked"], {"number": 1, "uid": uids[0], "size": objs[0]["marked"].get("size"),
                           "from": "Sender 1 <s1@example.org>", "subject": "delq subject 1"},
       "--json DELE 1: marked", res)
    check(isinstance(objs[0]["marked"]["size"], int) and objs[0]["marked"]["size"] > 100, "marked size", res)
    eq((objs[0]["ok"], objs[1]["ok"], objs[1].get("deleted")), (True, True, 1), "--json: ok, QUIT deleted 1", res)
    eq(box.server_uids(), [uids[2]], "the server's UIDs after DELE 1, QUIT", res)
    eq(maildir_files(box), 1, "files in the Maildir", res)
    # A second session lists what is left.
    res = session(ctx, "UIDL\n", box=box)
    expect_ok(res, "UIDL afterwards")
    eq(blocks(res, ["UIDL", "QUIT" + IMPLICIT])["UIDL"].splitlines()[1:], [f"1 {uids[2]}"],
       "UIDL in a second session", res)


@scenario
def script_without_quit_deletes_nothing(ctx):
    """A script that marks messages and ends without QUIT: RSET and QUIT shown as implicit,
    nothing deleted, exit 0; the same in --json ("implicit": true); comments only: just QUIT."""
    box = ctx.mailbox(msgs3("noquit"), "noquit")
    uids = list(box.uids)
    res = session(ctx, "DELE 1\nDELE 3\n", box=box)
    expect_ok(res, "DELE 1, DELE 3, no QUIT")
    got = blocks(res, ["DELE 1", "DELE 3", "RSET" + IMPLICIT, "QUIT" + IMPLICIT])
    check(got["RSET" + IMPLICIT].startswith("+OK"), "implicit RSET: +OK", res)
    check(re.fullmatch(r"\+OK[^\n]*\n", got["QUIT" + IMPLICIT]), "implicit QUIT: +OK, nothing deleted", res)
    eq(box.server_uids(), uids, "the server's UIDs after a script without QUIT", res)
    eq(maildir_files(box), 3, "files in the Maildir", res)
    res = session(ctx, "DELE 2\n", box=box, glob=["--json"])
    expect_ok(res, "--json DELE 2, no QUIT")
    objs = json_lines(res)
    eq([(o["command"], o.get("implicit", False), o["ok"]) for o in objs],
       [("DELE 2", False, True), ("RSET", True, True), ("QUIT", True, True)], "--json: DELE, implicit RSET+QUIT", res)
    check(not objs[2].get("deleted"), "--json implicit QUIT: nothing deleted", res)
    eq(box.server_uids(), uids, "the server's UIDs after the --json script", res)
    # RSET in the script unmarks: its QUIT deletes nothing.
    res = session(ctx, "DELE 1\nDELE 2\nRSET\nQUIT\n", box=box)
    expect_ok(res, "DELE 1, DELE 2, RSET, QUIT")
    got = blocks(res, ["DELE 1", "DELE 2", "RSET", "QUIT"])
    check(re.fullmatch(r"\+OK[^\n]*\n", got["QUIT"]), "QUIT after RSET: +OK, nothing deleted", res)
    eq(box.server_uids(), uids, "the server's UIDs after DELE, DELE, RSET, QUIT", res)
    res = session(ctx, "# nothing to do\n\n", box=box)
    expect_ok(res, "a script of comments")
    eq(list(blocks(res, ["QUIT" + IMPLICIT])), ["QUIT" + IMPLICIT], "comments only: the implicit QUIT alone", res)
    check("RSET" not in res.stdout, "no RSET when nothing is marked", res)


# --------------------------------------------------------------------------- 5: -ERR

@scenario
def err_stops_the_script(ctx):
    """An -ERR stops the script: exit 1, later lines not sent, the earlier DELE not committed
    (RSET, QUIT); --keep-going runs the rest and exits 1 at the end (its QUIT commits)."""
    script = "DELE 1\nRETR 99\nNOOP\nDELE 2\nQUIT\n"
    box = ctx.mailbox(msgs3("errstop"), "errstop")
    uids = list(box.uids)
    res = session(ctx, script, box=box, glob=["-v"])
    eq(res.rc, 1, "exit code after an -ERR", res)
    got = blocks(res, ["DELE 1", "RETR 99", "RSET" + STOPPED, "QUIT" + STOPPED])
    check(got["RETR 99"].startswith("-ERR"), "RETR 99: the server's -ERR shown", res)
    check("> NOOP" not in res.stdout and "> DELE 2" not in res.stdout, "lines after the -ERR shown", res)
    sent = sent_commands(res)
    check("RETR 99" in sent, "-v: RETR 99 sent", res)
    after = sent[sent.index("RETR 99") + 1:]
    eq([c for c in after if c.split()[0] not in ("RSET", "QUIT")], [], "-v: commands sent after the -ERR", res)
    check("RSET" in after and after[-1] == "QUIT", "-v: RSET, then QUIT", res)
    eq(box.server_uids(), uids, "nothing deleted after the -ERR", res)
    # --json: the failing object says ok false; the script stops there too.
    res = session(ctx, script, box=box, glob=["--json"])
    eq(res.rc, 1, "--json: exit code after an -ERR", res)
    objs = json_lines(res)
    eq([(o["command"], o["ok"]) for o in objs],
       [("DELE 1", True), ("RETR 99", False), ("RSET", True), ("QUIT", True)], "--json objects", res)
    check(objs[1]["status"].startswith("-ERR"), "--json RETR 99: status -ERR", res)
    eq(box.server_uids(), uids, "nothing deleted after the --json -ERR", res)
    # --keep-going: everything runs, QUIT commits DELE 1 and DELE 2, exit 1.
    res = session(ctx, script, ["--keep-going"], box=box)
    eq(res.rc, 1, "--keep-going: exit code at the end", res)
    got = blocks(res, ["DELE 1", "RETR 99", "NOOP", "DELE 2", "QUIT"])
    check(got["NOOP"].startswith("+OK") and got["QUIT"].endswith("the server deleted 2 messages\n"),
          "--keep-going: NOOP ran, QUIT deleted 2", res)
    check(IMPLICIT not in res.stdout, "--keep-going: no implicit RSET/QUIT after an explicit QUIT", res)
    eq(box.server_uids(), [uids[2]], "--keep-going: the script's QUIT committed DELE 1 and 2", res)


# --------------------------------------------------------------------------- 6: credentials

@scenario
def credentials_refused_never_sent(ctx):
    """USER/PASS/APOP/AUTH in a script: refused, shown as "VERB (not shown)", the secret after
    them nowhere (stdout, stderr, the -v transcript, JSON); the server receives the login's
    USER/PASS only."""
    b64 = __import__("base64").b64encode(f"\0sess\0{TYPED_SECRET}".encode()).decode()
    # A byte order mark before the first line (an editor's), a vertical tab or another control
    # character instead of the blank: still PASS, not a verb "PASS\vSECRET" shown or sent.
    script = (f"\ufeffUSER somebody\nPASS {TYPED_SECRET}\npass {TYPED_SECRET}\nAPOP sess {TYPED_SECRET}\n"
              f"AUTH PLAIN {b64}\n  Pass\t{TYPED_SECRET}\nPASS\v{TYPED_SECRET}\nPASS\x01{TYPED_SECRET}\nSTAT\n")
    box = Pop3Mailbox(msgs3("cred"))
    for glob, args in (([], ["--keep-going"]), (["-v"], ["--keep-going", "--raw"]), (["--json", "-v"], ["--keep-going"]),
                       (["-v"], [])):
        with ScriptedServer([], fallback=box) as srv:
            res = scripted(ctx, srv, script, args, glob)
            what = " ".join(glob + args) or "plain"
            eq(res.rc, 1, f"{what}: exit code (the refusals are failures)", res)
            for where, text in (("stdout", res.stdout), ("stderr", res.stderr)):
                leaks = [f for f in (TYPED_SECRET, TYPED_SECRET.upper(), b64, b64[:-4]) if f in text]
                eq(leaks, [], f"{what}: the typed secret in {where}", res)
            eq(srv.saw(r"PASS .*"), [f"PASS {PASSWORD}"], f"{what}: PASS lines the server received", res)
            eq(srv.saw(r"(USER|APOP|AUTH) .*"), ["USER sess"], f"{what}: USER/APOP/AUTH lines received", res)
            eq([l for l in srv.received if TYPED_SECRET in l or b64 in l], [], f"{what}: the secret received", res)
            eq(re.findall(r"[\x00-\x08\x0b-\x1f\x7f\ufeff]", res.stdout), [], f"{what}: control characters on stdout", res)
            if "--json" in glob:
                objs = json_lines(res)
                eq([o["command"] for o in objs],
                   ["USER (not shown)", "PASS (not shown)", "PASS (not shown)", "APOP (not shown)",
                    "AUTH (not shown)", "PASS (not shown)", "PASS (not shown)", "PASS (not shown)", "STAT", "QUIT"],
                   f"{what}: commands", res)
                check(all(not o["ok"] and "not typed here" in o["message"] for o in objs[:8]),
                      f"{what}: each refused, saying why", res)
            elif "--keep-going" in args:
                for verb in ("USER", "PASS", "APOP", "AUTH"):
                    check(f"> {verb} (not shown)\nmailwrench: {verb} is not typed here" in res.stdout,
                          f"{what}: {verb} shown without its arguments and refused", res)
                check("\n> STAT\n+OK 3 " in res.stdout, f"{what}: STAT after the refusals", res)
                eq(srv.verbs().count("STAT"), 1, f"{what}: STAT sent", res)
            else:
                eq(srv.verbs().count("STAT"), 0, f"{what}: the script stopped at USER", res)
                check("> PASS" not in res.stdout, f"{what}: stopped before PASS", res)


# --------------------------------------------------------------------------- 7: the mailbox changed

@scenario
def dele_after_the_mailbox_changed(ctx):
    """UIDL n now differs from the UID n had at login (another client deleted a message), or
    UIDL n is refused: DELE n is refused, saying the mailbox changed; no DELE reaches the
    server, exit 1, nothing committed."""
    messages = msgs3("changed")
    for rule, why in ((on(r"UIDL 2", "+OK 2 fake-uid-0003"), "UIDL 2 names another message"),
                      (on(r"UIDL 2", "-ERR no such message"), "UIDL 2 refused")):
        for glob in ([], ["--json"]):
            box = Pop3Mailbox(messages)
            with ScriptedServer([rule], fallback=box) as srv:
                res = scripted(ctx, srv, "DELE 2\nQUIT\n", glob=glob)
            what = f"{why}{' --json' if glob else ''}"
            eq(res.rc, 1, f"{what}: exit code", res)
            if glob:
                objs = json_lines(res)
                eq([(o["command"], o["ok"]) for o in objs], [("DELE 2", False), ("QUIT", True)], f"{what}: objects", res)
                check("the mailbox changed since login" in objs[0].get("message", ""), f"{what}: message", res)
                check("marked" not in objs[0], f"{what}: nothing marked", res)
            else:
                got = blocks(res, ["DELE 2", "QUIT" + STOPPED])
                check(re.fullmatch(r"mailwrench: message 2 is no longer the message with UID 'fake-uid-0002' "
                                   r"\(the mailbox changed since login\): nothing was marked\n", got["DELE 2"]),
                      f"{what}: the refusal", res)
            eq([v for v in srv.verbs() if v == "DELE"], [], f"{what}: DELE sent", res)
            eq(srv.saw(r"UIDL 2"), ["UIDL 2"], f"{what}: UIDL 2 asked before DELE", res)
            eq(box.committed_deletes, [], f"{what}: deleted", res)


@scenario
def dele_one_uid_twice(ctx):
    """A server that gives messages 1 and 2 the same UID: DELE 2 marks message 2 (its From and
    Subject are shown, UIDL 2 still names the UID it had at login), QUIT deletes message 2 and
    never message 1, its namesake."""
    box = Pop3Mailbox(msgs3("twice"), uids=["same-uid", "same-uid", "other-uid"])
    with ScriptedServer([], fallback=box) as srv:
        res = scripted(ctx, srv, "DELE 2\nQUIT\n")
    expect_ok(res, "DELE 2, QUIT with one UID twice")
    got = blocks(res, ["DELE 2", "QUIT"])
    check(re.search(r"marked 2 for deletion at QUIT: UID same-uid, .*From: Sender 2 <s2@example\.org>, "
                    r"Subject: twice subject 2", got["DELE 2"]), "the marked line names message 2", res)
    eq(srv.saw(r"DELE .*"), ["DELE 2"], "DELEs sent", res)
    eq(box.committed_deletes, [2], "deleted", res)


# --------------------------------------------------------------------------- 8: bad commands

BAD = [
    ("DELE 4", r"message 4 does not exist \(the mailbox had 3 messages at login\)"),
    ("DELE 0", r"DELE: messages are numbered from 1"),
    ("DELE two", r"DELE's message number"),
    ("TOP 1", r"TOP takes a message number and a number of lines"),
    ("RETR", r"RETR takes one message number"),
    ("STAT 1", r"STAT takes no arguments"),
    ("FROB 1", r"unknown command 'FROB' .*--raw"),
    ("STLS", r"STLS is not typed here"),
]


@scenario
def bad_commands_refused(ctx):
    """Refused before anything is sent: a number not listed at login, DELE 0, a missing argument,
    an unknown verb; each stops the script (the NOOP after it is not sent). DELE twice: the second
    refused, one DELE sent. --raw: an unknown verb is sent verbatim, its reply shown."""
    box = Pop3Mailbox(msgs3("bad"))
    for line, pattern in BAD:
        with ScriptedServer([], fallback=box) as srv:
            res = scripted(ctx, srv, f"{line}\nNOOP\n")
        eq(res.rc, 1, f"{line}: exit code", res)
        got = blocks(res, [line, "QUIT" + STOPPED])
        check(re.fullmatch(rf"mailwrench: .*{pattern}.*\n", got[line]), f"{line}: refusal /{pattern}/", res)
        sent = srv.sessions[0]
        eq(sent[sent.index("UIDL") + 1:], ["QUIT"], f"{line}: sent after the login listing", res)
    with ScriptedServer([], fallback=box) as srv:
        res = scripted(ctx, srv, "DELE 1\nDELE 1\nNOOP\n")
    eq(res.rc, 1, "DELE 1 twice: exit code", res)
    got = blocks(res, ["DELE 1", "DELE 1", "RSET" + STOPPED, "QUIT" + STOPPED])
    check(re.fullmatch(r"mailwrench: message 1 is marked already \(RSET unmarks\)\n", got["DELE 1"]),
          "DELE 1 twice: the second refused", res)
    eq(srv.saw(r"DELE .*"), ["DELE 1"], "DELE 1 twice: DELEs sent", res)
    eq(box.committed_deletes, [], "DELE 1 twice: deleted", res)
    # --raw: a verb mailwrench does not know goes out as typed.
    with ScriptedServer([on(r"XTND XMIT a\tb", "+OK extended")], fallback=box) as srv:
        res = scripted(ctx, srv, "XTND XMIT a\tb\nNOOP\n", ["--raw"])
    expect_ok(res, "--raw XTND")
    got = blocks(res, ["XTND XMIT a b", "NOOP", "QUIT" + IMPLICIT])
    eq(got["XTND XMIT a b"], "+OK extended\n", "--raw XTND: the server's reply", res)
    eq(srv.saw(r"XTND.*"), ["XTND XMIT a\tb"], "--raw XTND: sent verbatim", res)
    with ScriptedServer([], fallback=box) as srv:
        res = scripted(ctx, srv, "FROB\n")
    eq(srv.saw(r"FROB.*"), [], "without --raw FROB is not sent", res)


# --------------------------------------------------------------------------- 9: hostile content

HOSTILE = (b"From: Evil <evil@example.org>\nSubject: \x1b]0;pwned\x07title\n\n"
           b"clear \x1b[2J screen\nnul \x00 here\n.dot line\n" + b"L" * 100_000 + b"\n"
           b"bare \r CR, C1 \xc2\x9b CSI, bidi \xe2\x80\xae override, latin-1 caf\xe9\nlast line\n")
# Bytes that must never reach a terminal from a server: ESC, NUL, BEL, a bare CR, C1 CSI, RLO.
RAW_CONTROLS = ((b"\x1b", "ESC"), (b"\x00", "NUL"), (b"\x07", "BEL"), (b"\r", "CR"), (b"\xc2\x9b", "C1 CSI"),
                (b"\xe2\x80\xae", "RLO"))


@scenario
def hostile_content_made_visible(ctx):
    """ESC sequences, a NUL and a 100 KB line through RETR and TOP (and an ESC in a status
    line): no ESC or NUL byte on stdout, shown as \\x1b and \\x00, the long line cut with
    "more octets"; --json keeps the exact text, escaped."""
    box = Pop3Mailbox([HOSTILE])
    with ScriptedServer([on(r"NOOP", "+OK \x1b[31mred")], fallback=box) as srv:
        script = "RETR 1\nTOP 1 5\nNOOP\n"
        res, out = ctx.run_raw(scripted_args(srv) + ["session"], password=PASSWORD, stdin=script.encode())
        expect_ok(res, "RETR/TOP of a hostile message")
        for byte, name in RAW_CONTROLS:
            check(byte not in out, f"{name} on stdout", res)
        text = out.decode("utf-8")
        for c in ("RETR 1", "TOP 1 5"):
            part = text.split(f"> {c}\n", 1)[1].split("\n> ", 1)[0] + "\n"
            check("Subject: \\x1b]0;pwned\\x07title\n" in part, f"{c}: the Subject's ESC/BEL visible", res)
            check("clear \\x1b[2J screen\n" in part and "nul \\x00 here\n" in part and "\n.dot line\n" in part,
                  f"{c}: ESC, NUL visible, the dot line un-stuffed", res)
            long = [l for l in part.splitlines() if l.startswith("LLLL")]
            eq(len(long), 1, f"{c}: the long line", res)
            m = re.fullmatch(r"(L+)\u2026 \[(\d+) more octets\]", long[0])
            check(m and len(m.group(1)) <= 8192 and len(m.group(1)) + int(m.group(2)) == 100_000,
                  f"{c}: the 100 KB line cut, saying how many more octets ({long[0][-40:]!r})", res)
        check("\nbare \\x0d CR, C1 <U+009B> CSI, bidi <U+202E> override, latin-1 caf\\xe9\nlast line\n> TOP 1 5\n"
              in text, "RETR: CR, C1, RLO, a Latin-1 octet shown visibly; the last line; the next command", res)
        check("> NOOP\n+OK \\x1b[31mred\n" in text, "an ESC in a status line made visible", res)
        res, out = ctx.run_raw(scripted_args(srv) + ["--json", "session"], password=PASSWORD, stdin=b"RETR 1\n")
        expect_ok(res, "--json RETR of a hostile message")
        for byte, name in RAW_CONTROLS:
            check(byte not in out, f"--json: {name} on stdout", res)
        objs = [json.loads(l) for l in out.decode().splitlines()]
        eq(objs[0]["lines"], HOSTILE.decode(errors="replace").split("\n")[:-1],
           "--json RETR: the exact lines, escaped (invalid UTF-8 as U+FFFD)", res)
    # DELE shows the From and Subject of what it marks: made safe too (an RFC 2047 word may
    # decode to an ESC).
    evil = b"From: Evil \x1b[31m <e@example.org>\nSubject: =?UTF-8?Q?a=1B]0;t=07b?= \xc2\x9b\n\nbody\n"
    with ScriptedServer([], fallback=Pop3Mailbox([evil])) as srv:
        res, out = ctx.run_raw(scripted_args(srv) + ["session"], password=PASSWORD, stdin=b"DELE 1\n")
    expect_ok(res, "DELE 1 of a message with hostile From and Subject")
    for byte, name in RAW_CONTROLS:
        check(byte not in out, f"DELE of a hostile message: {name} on stdout", res)
    check("From: Evil \\x1b[31m <e@example.org>, Subject: a\\x1b]0;t\\x07b <U+009B>\n" in res.stdout,
          "DELE: the hostile From and Subject shown visibly", res)


# --------------------------------------------------------------------------- 10: --script, usage

@scenario
def script_file_and_usage(ctx):
    """--script FILE (comments, blank lines, CRLF) runs like the same script on stdin; a missing
    script file: exit 66, one error line, no connection; session ARG: 64."""
    body = "# look around\n\nSTAT\n   \n\t# indented comment\nLIST 2\r\nUIDL 2\nTOP 2 1\n"
    path = ctx.file("look.script", body)
    box = Pop3Mailbox(msgs3("file"))
    with ScriptedServer([], fallback=box) as srv:
        from_file = ctx.run(scripted_args(srv) + ["session", "--script", str(path)], password=PASSWORD,
                            stdin="RETR 1\n")
        from_stdin = scripted(ctx, srv, body)
    expect_ok(from_file, "--script FILE")
    expect_ok(from_stdin, "the same script on stdin")
    got = blocks(from_file, ["STAT", "LIST 2", "UIDL 2", "TOP 2 1", "QUIT" + IMPLICIT])
    eq(got["UIDL 2"], "+OK 2 fake-uid-0002\n", "--script: UIDL 2", from_file)
    eq(from_file.stdout, from_stdin.stdout, "--script FILE and stdin: the same output", from_file)
    check("RETR" not in from_file.stdout, "--script: stdin is not read", from_file)
    # QUIT ends the script: the lines after it are not run.
    with ScriptedServer([], fallback=box) as srv:
        res = scripted(ctx, srv, "NOOP\nQUIT\nSTAT\nDELE 1\n")
    expect_ok(res, "lines after QUIT")
    eq(list(blocks(res, ["NOOP", "QUIT"])), ["NOOP", "QUIT"], "lines after QUIT: shown", res)
    check("> STAT" not in res.stdout and "DELE" not in res.stdout, "lines after QUIT: not run", res)
    eq(srv.sessions[0][-2:], ["NOOP", "QUIT"], "lines after QUIT: the last lines sent", res)
    with ScriptedServer([], fallback=box) as srv:
        missing = ctx.scratch / "no-such.script"
        res = ctx.run(scripted_args(srv) + ["session", "--script", str(missing)], password=PASSWORD)
        expect_error(res, 66, re.escape(str(missing)), "--script of a missing file")
        eq(res.stdout, "", "--script missing: stdout", res)
        res = ctx.run(scripted_args(srv) + ["--json", "session", "--script", str(missing)], password=PASSWORD)
        expect_error(res, 66, re.escape(str(missing)), "--json --script of a missing file")
        eq([o["error"].get("exit_code") for o in json_lines(res)], [66], "--json: one line with the error", res)
        res = ctx.run(scripted_args(srv) + ["session", "extra-arg"], password=PASSWORD, stdin="STAT\n")
        expect_error(res, 64, r"takes no arguments.*extra-arg", "session extra-arg")
        eq(res.stdout, "", "session extra-arg: stdout", res)
        srv.settle()
        eq(srv.connections, 0, "connections for a missing script or a usage error", res)


# --------------------------------------------------------------------------- 12: the server goes away

@scenario
def connection_lost_mid_script(ctx):
    """The server hangs up in the middle of a script (after a DELE): exit 74, one error line on
    stderr, the rest of the script not sent, nothing committed (no QUIT reached the server);
    --json: still JSON Lines, every line an object, the last naming the command that failed with
    the error (and a refused login: one line too)."""
    script = "DELE 1\nNOOP\nSTAT\nQUIT\n"
    for glob in ([], ["--json"]):
        box = Pop3Mailbox(msgs3("lost"))
        with ScriptedServer([on(r"NOOP", mw.close())], fallback=box) as srv:
            res = scripted(ctx, srv, script, glob=glob)
        what = "connection lost" + (" --json" if glob else "")
        expect_error(res, 74, r"clos|reset|hung up|disconnect|EOF|end of", what)
        eq(srv.sessions[0][-2:], ["DELE 1", "NOOP"], f"{what}: the last lines the server received", res)
        eq(box.committed_deletes, [], f"{what}: deleted", res)
        if not glob:
            eq(list(blocks(res, ["DELE 1", "NOOP"])), ["DELE 1", "NOOP"], f"{what}: the commands shown", res)
            check("> STAT" not in res.stdout, f"{what}: STAT shown", res)
            continue
        objs = json_lines(res)
        eq([(o.get("command"), o.get("ok")) for o in objs], [("DELE 1", True), ("NOOP", False)],
           f"{what}: the objects (the last one: the command the connection was lost in)", res)
        eq((objs[1].get("error") or {}).get("exit_code"), 74, f"{what}: the error of the last object", res)
    with ScriptedServer([on(r"PASS .*", "-ERR [AUTH] authentication failed")], fallback=Pop3Mailbox(msgs3("nologin"))) as srv:
        res = scripted(ctx, srv, "STAT\n", glob=["--json"])
    expect_error(res, 77, r"authentication failed|password|credential", "--json: a refused login")
    objs = json_lines(res)
    eq([sorted(o) for o in objs], [["error"]], "--json: a refused login is one line with the error", res)
    eq(objs[0]["error"].get("exit_code"), 77, "--json: the refused login's exit code", res)


# --------------------------------------------------------------------------- 11: bounded memory

@scenario
def retr_50mb_bounded_memory(ctx):
    """RETR of a 50 MB message in a script (plain output): streamed, peak RSS under 32 MiB, the
    whole message on stdout."""
    big = mw.message("sess50m", subject="50 MB", size=50 * 1024 * 1024)
    box = ctx.mailbox([big], "sess50m")
    script = ctx.file("retr.script", "RETR 1\n")
    res, peak = ctx.run_measured(box.conn() + ["session", "--script", str(script)], password=box.password, timeout=55)
    expect_ok(res, "session RETR 1 of a 50 MB message")
    print(f"  peak RSS {peak / 1024:.1f} MiB, {res.elapsed:.1f} s")
    out = (ctx.scratch / "measured.out").read_bytes()
    head, _, rest = out.partition(b"\n")
    eq(head, b"> RETR 1", "first line", res)
    status, _, rest = rest.partition(b"\n")
    check(re.fullmatch(rb"\+OK.*", status), f"RETR status {status[:80]!r}", res)
    check(rest[:len(big)] == big, "the 50 MB message on stdout, exactly", res)
    check(rest[len(big):].startswith(b"> QUIT" + IMPLICIT.encode()), "then the implicit QUIT", res)
    del out, rest, big
    if not ctx.rss_checked("session RETR of 50 MB"):
        return
    check(peak > 0, "could not read VmHWM of the mailwrench process", res)
    check(peak < 32 * 1024, f"peak RSS {peak} KiB for RETR of a 50 MB message (limit 32 MiB: streamed)", res)



@scenario
def retr_json_bounded_memory(ctx):
    """RETR of a 9 MB message with --json: the object is written, peak RSS under 32 MiB."""
    big = b"From: a@example.org\nSubject: big\n\n" + b"".join(
        b"line %08d the quick brown fox jumps over the lazy dog\n" % i for i in range(150_000))
    script = ctx.file("retr.script", "RETR 1\n")
    with ScriptedServer([], fallback=Pop3Mailbox([big])) as srv:
        res, peak = ctx.run_measured(scripted_args(srv) + ["--json", "session", "--script", str(script)],
                                     password=PASSWORD, timeout=50)
    expect_ok(res, "--json session RETR 1 of a 9 MB message")
    print(f"  peak RSS {peak / 1024:.1f} MiB, {res.elapsed:.1f} s")
    first = (ctx.scratch / "measured.out").read_bytes().split(b"\n", 1)[0]
    eq(len(json.loads(first)["lines"]), big.count(b"\n"), "--json RETR: lines", res)
    if not ctx.rss_checked("session --json RETR of 9 MB"):
        return
    check(peak < 32 * 1024, f"peak RSS {peak} KiB for --json RETR of a 9 MB message (limit 32 MiB)", res)

if __name__ == "__main__":
    sys.exit(mw.main())
