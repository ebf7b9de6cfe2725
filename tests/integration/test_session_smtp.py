#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`mailwrench session --smtp` in scripted mode (issue 15): against the real Postfix of
postfix_fixture.py (the messages typed after DATA really arrive, in the Maildir Postfix
delivers into), and against a scripted SMTP server for what a real one does not send (terminal
escapes in a multi-line reply).

Every scenario sends as and to send users of its own (claimed in turn under the lock that
test_send.py uses), never to alice, bob or carol. Messages are found by a token in their Subject.
"""
from __future__ import annotations

import json
import os
import re
import sys
import fcntl
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_ok, fail  # noqa: E402
import postfix_fixture as pfx  # noqa: E402
from scripted_server import ScriptedServer, on, smtp_reply  # noqa: E402

EX_PARTIAL = 1


class User:
    def __init__(self, name: str, password: str, address: str, maildir: Path):
        self.name, self.password, self.address, self.maildir = name, password, address, maildir


def setup(ctx) -> None:
    if "smtp_port" not in ctx.env or "send_users" not in ctx.env:
        raise mw.Skip("the Postfix fixture is not running ('integration: postfix_start' was skipped or failed)")
    known = {s for s, _ in mw._SECRETS}
    for name, u in ctx.env["send_users"].items():
        if u["password"] not in known:
            mw._SECRETS.append((u["password"], f"<password of {name}>"))
    mw._SECRETS.sort(key=lambda s: -len(s[0]))


def claim(ctx, n: int = 1) -> list[User]:
    """n send users, taken in turn under test_send.py's lock."""
    users = ctx.env["send_users"]
    names = sorted(users)
    with open(ctx.dir / "postfix" / "send-users.claimed", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        k = int(f.read().strip() or 0)
        f.seek(0)
        f.truncate()
        f.write(str(k + n))
    picked = [names[(k + i) % len(names)] for i in range(n)]
    return [User(p, users[p]["password"], users[p]["address"], Path(users[p]["maildir"])) for p in picked]


def token(tag: str) -> str:
    return f"mwt-{tag}-{os.getpid()}-{os.urandom(4).hex()}"


def session(ctx, user: User, script: str, *, extra: list[str] | None = None, glob: list[str] | None = None,
            as_json: bool = False) -> mw.Result:
    """session --smtp on the submission port (STARTTLS, AUTH as user), the script on stdin."""
    e = ctx.env
    argv = ["-H", e["smtp_host"], "-p", str(e["smtp_port"]), "--tls", "starttls", "--cacert", e["ca"],
            "--timeout", "20", "-u", user.name] + (glob or []) + (["--json"] if as_json else []) \
        + ["session", "--smtp"] + (extra or [])
    return ctx.run(argv, password=user.password, stdin=script)


def delivered(user: User, needle: str, res: mw.Result, what: str) -> bytes:
    for _ in range(5):
        p = pfx.find_delivered(user.maildir, needle.encode(), pfx.DELIVERY_TIMEOUT)
        if p is None:
            fail(f"{what}: no message with {needle!r} arrived in {user.address}'s Maildir", res)
        try:
            return p.read_bytes()
        except FileNotFoundError:  # renamed new/ -> cur/ in between
            continue
    fail(f"{what}: the delivered file keeps moving away", res)


def body_of(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n", 1)[1].split("\n")


def no_secret(res: mw.Result, user: User, what: str) -> None:
    for text, stream in ((res.stdout, "stdout"), (res.stderr, "stderr")):
        check(user.password not in text, f"{what}: the password is on {stream}", res)


def commands(res: mw.Result) -> list[str]:
    return re.findall(r"^> (.*)$", res.stdout, re.M)


MESSAGE = """From: {frm}
To: {to}
Subject: session {tok}

first line
.leading dot
..two leading dots
.
# not a comment inside DATA
end"""


def script_for(frm: User, to: User, tok: str) -> str:
    return (f"EHLO client.lab.test\nMAIL FROM:<{frm.address}>\nrcpt to: <{to.address}>\nDATA\n"
            + MESSAGE.format(frm=frm.address, to=to.address, tok=tok).replace("\n.\n", "\n..\n")
            + "\n.\nNOOP\nRSET\nQUIT\n")


def sc(fn):
    def run(ctx, *a, **kw):
        setup(ctx)
        return fn(ctx, *a, **kw)
    run.__name__ = fn.__name__
    mw.add(fn.__name__, run)
    return fn


def fk(fn):
    mw.add(fn.__name__, fn)
    return fn


# --------------------------------------------------------------------------- the real Postfix

@sc
def deliver_plain(ctx):
    """EHLO, MAIL, RCPT (typed as people type it), DATA with the message in the script (lines
    starting with '.' dot-stuffed by the tool), NOOP, RSET, QUIT: the message arrives."""
    frm, to = claim(ctx, 2)
    tok = token("sess")
    script = script_for(frm, to, tok)
    # The message line ".." is typed as it is; the tool stuffs it to "...", Postfix delivers "..".
    res = session(ctx, frm, script)
    expect_ok(res, "session --smtp, a script that sends a message")
    eq(commands(res), ["EHLO client.lab.test", f"MAIL FROM:<{frm.address}>", f"rcpt to: <{to.address}>", "DATA",
                       "NOOP", "RSET", "QUIT"], "the commands shown", res)
    out = res.stdout
    check(re.search(r"^250-\S+", out, re.M) and re.search(r"^250 [A-Z0-9]", out, re.M),
          "EHLO: the multi-line 250 reply, a line each", res)
    check(re.search(r"^250 2\.1\.0 Ok$", out, re.M), "MAIL: 250 2.1.0 Ok", res)
    check(re.search(r"^250 2\.1\.5 Ok$", out, re.M), "RCPT: 250 2.1.5 Ok", res)
    check(re.search(r"^354 End data with <CR><LF>\.<CR><LF>$", out, re.M), "DATA: the 354", res)
    check(re.search(r"^\(message: 10 lines, \d+ octets\)$", out, re.M), "DATA: the message's size", res)
    check(re.search(r"^250 2\.0\.0 Ok: queued as \w+$", out, re.M), "DATA: the final reply", res)
    check(re.search(r"^> QUIT\n221 2\.0\.0 Bye$", out, re.M), "QUIT: 221", res)
    check("first line" not in out, "the message lines are not echoed as commands", res)
    no_secret(res, frm, "deliver_plain")
    body = body_of(delivered(to, tok, res, "deliver_plain"))
    eq(body[:6], ["first line", ".leading dot", "..two leading dots", "..", "# not a comment inside DATA", "end"],
       "the body as delivered (each line starting with '.' arrives as typed, with its dots)", res)


@sc
def deliver_json(ctx):
    """--json: one object a command, each line parsed with json.loads; multi-line replies give
    'lines' and the last line as 'status'."""
    frm, to = claim(ctx, 2)
    tok = token("sessjson")
    res = session(ctx, frm, script_for(frm, to, tok), as_json=True)
    expect_ok(res, "session --smtp --json")
    objs = []
    for line in res.stdout.splitlines():
        try:
            objs.append(json.loads(line))
        except ValueError:
            fail(f"--json: a line that is not JSON: {line!r}", res)
    eq([o["command"] for o in objs], ["EHLO client.lab.test", f"MAIL FROM:<{frm.address}>",
                                      f"rcpt to: <{to.address}>", "DATA", "NOOP", "RSET", "QUIT"],
       "--json: the commands", res)
    check(all(o["ok"] is True for o in objs), "--json: every exchange ok", res)
    ehlo = objs[0]
    check(isinstance(ehlo.get("lines"), list) and ehlo["lines"] and all(l.startswith("250-") for l in ehlo["lines"]),
          "--json EHLO: the earlier lines in 'lines', '250-...'", res)
    check(ehlo["status"].startswith("250 "), "--json EHLO: the last line is 'status'", res)
    check(any("STARTTLS" in l for l in ehlo["lines"]) is False, "--json EHLO after STARTTLS: STARTTLS no longer offered", res)
    data = objs[3]
    eq(data["lines"][0][:4], "354 ", "--json DATA: the 354 first", res)
    check(re.fullmatch(r"250 2\.0\.0 Ok: queued as \w+", data["status"]), "--json DATA: the final reply", res)
    eq(data["data"]["lines"], 10, "--json DATA: data.lines", res)
    check(data["data"]["octets"] > 50, "--json DATA: data.octets", res)
    eq(objs[-1]["status"], "221 2.0.0 Bye", "--json QUIT", res)
    body = body_of(delivered(to, tok, res, "deliver_json"))
    eq(body[:3], ["first line", ".leading dot", "..two leading dots"], "--json: the body as delivered", res)


@sc
def data_file(ctx):
    """DATA FILE (an extension): the message read from a file with CRLF line ends, dot-stuffed
    by the tool; VRFY and NOOP shown."""
    frm, to = claim(ctx, 2)
    tok = token("sessfile")
    path = ctx.scratch / f"{tok}.eml"
    path.write_bytes((f"From: {frm.address}\r\nTo: {to.address}\r\nSubject: file {tok}\r\n\r\n"
                      "from a file\r\n.\r\n.dot\r\nlast\r\n").encode())
    script = (f"MAIL FROM:<{frm.address}>\nRCPT TO:<{to.address}>\nDATA {path}\n"
              f"VRFY {to.address}\nQUIT\n")
    res = session(ctx, frm, script, extra=["--keep-going"])
    out = res.stdout
    check(re.search(r"^354 ", out, re.M) and re.search(r"^250 2\.0\.0 Ok: queued as \w+$", out, re.M),
          "DATA FILE: 354 and the final reply", res)
    check(re.search(rf"^> VRFY {re.escape(to.address)}\n(252|250|502|550) ", out, re.M),
          "VRFY: the server's reply shown with its code", res)
    body = body_of(delivered(to, tok, res, "DATA FILE"))
    eq(body[:4], ["from a file", ".", ".dot", "last"], "DATA FILE: the body as delivered", res)
    missing = ctx.scratch / "no-such.eml"
    res = session(ctx, frm, f"MAIL FROM:<{frm.address}>\nRCPT TO:<{to.address}>\nDATA {missing}\nQUIT\n")
    eq(res.rc, EX_PARTIAL, "DATA with a missing file: exit 1", res)
    check(re.search(r"^mailwrench: cannot read the message file .*no-such\.eml.*DATA was not sent", res.stdout, re.M),
          "DATA with a missing file: refused, DATA not sent", res)
    check(not re.search(r"^354", res.stdout, re.M), "DATA with a missing file: no 354", res)


@sc
def rcpt_refused_stops(ctx):
    """A refused RCPT stops the script (exit 1; RSET, QUIT); --keep-going goes on (exit 1)."""
    frm, to = claim(ctx, 2)
    nobody = f"nobody-{os.urandom(3).hex()}@{ctx.env.get('smtp_domain', 'lab.test')}"
    script = f"MAIL FROM:<{frm.address}>\nRCPT TO:<{nobody}>\nNOOP\nQUIT\n"
    res = session(ctx, frm, script)
    eq(res.rc, EX_PARTIAL, "a refused RCPT: exit 1", res)
    check(re.search(r"^550 5\.1\.1 ", res.stdout, re.M), "a refused RCPT: the 550 shown", res)
    eq(commands(res), [f"MAIL FROM:<{frm.address}>", f"RCPT TO:<{nobody}>",
                       "RSET (the script stopped)", "QUIT (the script stopped)"],
       "a refused RCPT: the script stops, RSET (MAIL was accepted) and QUIT", res)
    res = session(ctx, frm, script, extra=["--keep-going"])
    eq(res.rc, EX_PARTIAL, "--keep-going: exit 1 at the end", res)
    eq(commands(res), [f"MAIL FROM:<{frm.address}>", f"RCPT TO:<{nobody}>", "NOOP", "QUIT"],
       "--keep-going: the script goes on", res)
    check(re.search(r"^> NOOP\n250 2\.0\.0 Ok$", res.stdout, re.M), "--keep-going: NOOP answered", res)


@sc
def data_refused_skips_message(ctx):
    """DATA refused (no recipient) with --keep-going: the message lines up to '.' are dropped,
    never run as commands; --json says how many."""
    frm, = claim(ctx, 1)
    script = f"MAIL FROM:<{frm.address}>\nDATA\nSubject: x\n\nRSET\nQUIT\n.\nNOOP\nQUIT\n"
    res = session(ctx, frm, script, extra=["--keep-going"])
    eq(res.rc, EX_PARTIAL, "DATA refused: exit 1", res)
    check(re.search(r"^554 5\.5\.1 Error: no valid recipients$", res.stdout, re.M), "DATA refused: 554 shown", res)
    check(re.search(r"^\(DATA was refused: the 4 message lines up to \"\.\" were dropped, not sent\)$", res.stdout, re.M),
          "DATA refused: the message lines dropped", res)
    eq(commands(res), [f"MAIL FROM:<{frm.address}>", "DATA", "NOOP", "QUIT"],
       "DATA refused: the message's RSET and QUIT lines are not commands", res)
    res = session(ctx, frm, script, extra=["--keep-going"], as_json=True)
    objs = [json.loads(l) for l in res.stdout.splitlines()]
    eq([o["command"] for o in objs], [f"MAIL FROM:<{frm.address}>", "DATA", "NOOP", "QUIT"], "--json: commands", res)
    eq((objs[1]["ok"], objs[1]["status"], objs[1]["dropped"]), (False, "554 5.5.1 Error: no valid recipients", 4),
       "--json: the refused DATA", res)


@sc
def unfinished_data_not_sent(ctx):
    """A script that ends inside DATA (no line "."): exit 65, the connection closed without
    ending the message, so nothing arrives; -v shows the exchange with AUTH redacted."""
    frm, to = claim(ctx, 2)
    tok = token("sessnodot")
    script = f"MAIL FROM:<{frm.address}>\nRCPT TO:<{to.address}>\nDATA\nSubject: {tok}\n\nbody\n"
    res = session(ctx, frm, script, glob=["-v"])
    eq(res.rc, 65, "a script that ends inside DATA: exit 65 (EX_DATAERR)", res)
    check(re.search(r"input ended inside DATA.*the message was not sent", res.stderr), "the error says so", res)
    check(re.search(r"^> AUTH \S+ <redacted>$", res.stderr, re.M) or re.search(r"^> AUTH \S+$", res.stderr, re.M),
          "-v: the tool's AUTH in the transcript, redacted", res)
    check(re.search(r"^> DATA$", res.stderr, re.M) and re.search(r"^< 354 ", res.stderr, re.M), "-v: DATA, 354", res)
    no_secret(res, frm, "unfinished DATA")
    if pfx.find_delivered(to.maildir, tok.encode(), 3.0):
        fail("a message whose DATA never ended arrived", res)


@sc
def auth_refused(ctx):
    """AUTH and STARTTLS typed are refused with a hint; the AUTH line is never shown; BDAT is
    refused without --raw."""
    frm, = claim(ctx, 1)
    secret = "AGZha2UAbm90LXRoZS1wYXNzd29yZA=="
    script = f"AUTH PLAIN {secret}\nSTARTTLS\nBDAT 10 LAST\nQUIT\n"
    res = session(ctx, frm, script, extra=["--keep-going"])
    eq(res.rc, EX_PARTIAL, "AUTH typed: exit 1", res)
    check(secret not in res.stdout + res.stderr, "AUTH typed: its argument is shown", res)
    eq(commands(res), ["AUTH (not shown)", "STARTTLS", "BDAT 10 LAST", "QUIT"], "the commands shown", res)
    check(re.search(r"^mailwrench: AUTH is not typed here: .*--user", res.stdout, re.M), "AUTH: the hint", res)
    check(re.search(r"^mailwrench: STARTTLS is not typed here: .*--tls", res.stdout, re.M), "STARTTLS: the hint", res)
    check(re.search(r"^mailwrench: BDAT is not typed here: .*--raw", res.stdout, re.M), "BDAT: refused", res)
    no_secret(res, frm, "auth_refused")
    res = session(ctx, frm, f"AUTH PLAIN {secret}\nQUIT\n", as_json=True)
    objs = [json.loads(l) for l in res.stdout.splitlines()]
    eq(objs[0]["command"], "AUTH (not shown)", "--json AUTH: the command", res)
    eq(objs[0]["ok"], False, "--json AUTH: not ok", res)
    check(secret not in res.stdout, "--json AUTH: the argument is shown", res)


@sc
def no_quit(ctx):
    """A script without QUIT ends with RSET (inside a transaction) and QUIT, exit 0; nothing is
    sent."""
    frm, to = claim(ctx, 2)
    res = session(ctx, frm, f"MAIL FROM:<{frm.address}>\nRCPT TO:<{to.address}>\n")
    expect_ok(res, "a script without QUIT")
    eq(commands(res), [f"MAIL FROM:<{frm.address}>", f"RCPT TO:<{to.address}>",
                       "RSET (the script ended without QUIT)", "QUIT (the script ended without QUIT)"],
       "a script without QUIT: RSET, QUIT", res)
    check(re.search(r"^221 ", res.stdout, re.M), "a script without QUIT: QUIT answered", res)
    res = session(ctx, frm, "NOOP\n", as_json=True)
    objs = [json.loads(l) for l in res.stdout.splitlines()]
    eq([(o["command"], o.get("implicit", False)) for o in objs], [("NOOP", False), ("QUIT", True)],
       "--json, no transaction: only QUIT, implicit", res)


@sc
def raw_extension(ctx):
    """Unknown verbs: refused without --raw, sent as they are with --raw (the reply shown)."""
    frm, = claim(ctx, 1)
    res = session(ctx, frm, "XWRENCH hello\nQUIT\n")
    eq(res.rc, EX_PARTIAL, "an unknown verb: exit 1", res)
    check(re.search(r"^mailwrench: unknown command 'XWRENCH' .*--raw", res.stdout, re.M), "refused, naming --raw", res)
    res = session(ctx, frm, "XWRENCH hello\nEHLO\nQUIT\n", extra=["--raw", "--keep-going"])
    check(re.search(r"^> XWRENCH hello\n50[02] 5\.5\.2 Error: command not recognized$", res.stdout, re.M),
          "--raw: Postfix's own answer to the verb", res)
    check(re.search(r"^> EHLO\n250-", res.stdout, re.M), "--raw: EHLO without a name greets with ours", res)


@sc
def usage_errors(ctx):
    """Malformed MAIL/RCPT are refused by the tool with the form; nothing is sent."""
    frm, = claim(ctx, 1)
    res = session(ctx, frm, "MAIL <a@lab.test>\nRCPT TO:<a@lab.test\nMAIL FROM:<a@lab.test> \x1b[2J\nQUIT\n",
                  extra=["--keep-going"])
    eq(res.rc, EX_PARTIAL, "usage errors: exit 1", res)
    check(re.search(r"^mailwrench: MAIL: FROM: is missing; the form is MAIL FROM:<address>", res.stdout, re.M),
          "MAIL without FROM:", res)
    check(re.search(r"^mailwrench: RCPT: the address has no closing '>'", res.stdout, re.M), "RCPT unbalanced", res)
    check("\x1b" not in res.stdout, "an escape typed is not echoed raw", res)


# --------------------------------------------------------------------------- a scripted server

@fk
def fake_multiline_escapes(ctx):
    """A multi-line reply: every line shown with its code, terminal escapes made visible; in
    --json the earlier lines in 'lines', the last as 'status'."""
    ehlo = smtp_reply(250, "fake.example", "PIPELINING", "8BITMIME")
    noop = smtp_reply(250, "first \x1b]0;owned\x07 line", "second \x1b[2J line", "2.0.0 last")
    rules = [on(r"EHLO .*", ehlo, times=None), on(r"NOOP", noop, times=None), on(r"QUIT", "221 2.0.0 bye")]
    for as_json in (False, True):
        with ScriptedServer(rules, greeting="220 fake.example ESMTP", unexpected="502 5.5.2 unexpected") as srv:
            argv = ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--timeout", "10"] \
                + (["--json"] if as_json else []) + ["session", "--smtp"]
            res = ctx.run(argv, stdin="NOOP\nQUIT\n")
            srv.settle()
            expect_ok(res, f"a multi-line reply (json={as_json})")
            check("\x1b" not in res.stdout and "\x07" not in res.stdout,
                  f"json={as_json}: an escape from the server reached the terminal", res)
            if as_json:
                objs = [json.loads(l) for l in res.stdout.splitlines()]
                noop_obj = objs[0]
                eq(noop_obj["command"], "NOOP", "--json: the command", res)
                eq(len(noop_obj["lines"]), 2, "--json: two earlier lines", res)
                check(noop_obj["lines"][0].startswith("250-first ") and noop_obj["lines"][1].startswith("250-second "),
                      "--json: the earlier lines with their code", res)
                eq(noop_obj["status"], "250 2.0.0 last", "--json: the last line as status", res)
            else:
                lines = res.stdout.splitlines()
                i = lines.index("> NOOP")
                check(lines[i + 1].startswith("250-first ") and lines[i + 1].endswith(" line")
                      and "owned" in lines[i + 1], "the first line, visible", res)
                check(lines[i + 2].startswith("250-second ") and lines[i + 2].endswith(" line"),
                      "the second line, visible", res)
                eq(lines[i + 3], "250 2.0.0 last", "the last line", res)
            eq(srv.verbs()[-1], "QUIT", "the server saw QUIT", res)


if __name__ == "__main__":
    sys.exit(mw.main())
