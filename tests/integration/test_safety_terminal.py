#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 11, items 10, 11 and 16: what a hostile server or message says cannot control the
terminal, cannot make mailwrench hold unbounded memory, and cannot hide why a header filter
matched.

- Item 11: -ERR texts, SMTP replies, the -v transcript, list/purge tables and top on a terminal
  carry no terminal control (ESC, other C0 but TAB/LF, DEL, C1 as octets or UTF-8, bidi
  controls, invalid UTF-8): they are shown as \\xHH or <U+HHHH>. top into a pipe passes the
  message as it is; JSON stays valid.
- Item 16: "^" and "$" in --subject/--from/--header anchor the whole field; line breaks inside
  a (decoded) field are spaces before matching and display; two From fields are both shown.
- Item 10: TOP headers are kept bounded per message (400 messages with 1 MiB headers run in
  bounded memory); LIST/UIDL row counts and SMTP reply line counts are capped (76).

The scenarios use the scripted servers of tests/support; they run under the Dovecot fixture
like every integration test (mwtest.main).
"""
from __future__ import annotations

import base64
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_error, expect_ok, fail, scenario  # noqa: E402
from scripted_server import (Pop3Mailbox, ScriptedServer, multiline, on, pop3_wire,  # noqa: E402
                             smtp_reply)
from sasl_server import SmtpMailer  # noqa: E402

EX_PROTOCOL, EX_NOPERM = 76, 77
PASSWORD = "terminal-Pa55-" + os.urandom(4).hex()
CAPA = multiline("+OK capability list follows", ["USER", "UIDL", "TOP", "PIPELINING", "RESP-CODES",
                                                 "AUTH-RESP-CODE"])
MIB = 1024

# Terminal control a server would like to send: set the title, write the clipboard (OSC 52),
# clear the screen, C1 CSI as UTF-8 and as a raw octet, a right-to-left override, bad UTF-8.
HOSTILE = (b"\x1b]0;pwned\x07 \x1b]52;c;Y3VybCBldmlsfHNo\x07 \x1b[2J \xc2\x9b31m "
           b"\xe2\x80\xaeexe.txt \x9b1m \xff end")
BIDI = ["\u061c", "\u200e", "\u200f"] + [chr(c) for c in range(0x202A, 0x202F)] + \
       [chr(c) for c in range(0x2066, 0x206A)]


# --------------------------------------------------------------------------- helpers

def hide_password():
    if all(secret != PASSWORD for secret, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (PASSWORD, "<password of the scripted server's user>"))


def login(capa: bytes = CAPA) -> list:
    return [on(r"CAPA", capa, times=None), on(r"USER \S+", "+OK"), on(r"PASS .*", "+OK logged in")]


def pop3_args(srv: ScriptedServer, timeout: int = 10) -> list[str]:
    hide_password()
    return ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
            "-u", "terminal", "--timeout", str(timeout)]


def smtp_args(srv: ScriptedServer) -> list[str]:
    return ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--timeout", "10"]


SEND = ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "x", "--body", "hello"]


def run_bytes(ctx, args: list[str], *, tty: bool = False, timeout: float = 40) -> tuple[mw.Result, bytes, bytes]:
    """mailwrench as the scripted servers' user: stdout on a pipe, or on a terminal when tty."""
    return ctx.run_bytes(args, password=PASSWORD, tty=tty, timeout=timeout)


def expect_terminal_safe(data: bytes, what: str, res: mw.Result):
    """No octet or character in data can control a terminal: C0 other than TAB and LF, DEL,
    C1 (as UTF-8 or raw), bidi controls; and data is valid UTF-8."""
    bad = sorted({b for b in data if (b < 0x20 and b not in (0x09, 0x0A)) or b == 0x7F})
    eq(bad, [], f"{what}: C0 control octets or DEL (terminal escapes from the server)", res)
    try:
        text = data.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        fail(f"{what}: not valid UTF-8 (raw octets of the server reach the terminal: {e})", res)
    c1 = sorted({hex(ord(c)) for c in text if 0x80 <= ord(c) <= 0x9F})
    eq(c1, [], f"{what}: C1 control characters", res)
    bidi = sorted({hex(ord(c)) for c in text if c in BIDI})
    eq(bidi, [], f"{what}: bidirectional control characters", res)


def encoded_word(text: str) -> str:
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def header_message(tag: str, subject: str, frm: str | list[str] = "Sender <sender@example.org>") -> bytes:
    froms = [frm] if isinstance(frm, str) else frm
    head = "".join(f"From: {f}\n" for f in froms)
    return (head + f"To: b@example.org\nSubject: {subject}\nDate: Mon, 1 Jun 2020 12:00:00 +0000\n"
            f"Message-ID: <{tag}@mailwrench.test>\n\nbody of {tag}\n").encode()


# =========================================================================== item 11

@scenario
def err_text_cannot_control_terminal(ctx):
    """PASS answered '-ERR [AUTH] <escape sequences, C1, U+202E, bad UTF-8>': exit 77, one error
    line on stderr with the sequences shown as \\xHH / <U+HHHH>, nothing raw; with -v the
    transcript line of the reply is made visible too."""
    refusal = b"-ERR [AUTH] no " + HOSTILE + b"\r\n"
    for verbose in ([], ["-v"]):
        rules = [on(r"CAPA", CAPA, times=None), on(r"USER \S+", "+OK"), on(r"PASS .*", refusal)]
        with ScriptedServer(rules) as srv:
            res, out, err = run_bytes(ctx, verbose + pop3_args(srv) + ["stat"])
            srv.settle()
        what = f"-ERR text with terminal escapes{' (-v)' if verbose else ''}"
        check(res.rc == EX_NOPERM, f"{what}: exit code {res.rc}, expected 77", res)
        expect_terminal_safe(err, f"{what}: stderr", res)
        check("\\x1b]0;pwned\\x07" in res.stderr and "<U+202E>" in res.stderr and "<U+009B>" in res.stderr,
              f"{what}: stderr does not show the escapes visibly (\\x1b, <U+202E>, <U+009B>)", res)
        errors = [l for l in res.stderr_lines if l.startswith("mailwrench: error: ")]
        eq(len(errors), 1, f"{what}: error lines", res)
        if not verbose:
            expect_error(res, EX_NOPERM, r"AUTH|no ", what)


@scenario
def smtp_reply_cannot_control_terminal(ctx):
    """RCPT answered '550 5.1.1 <escapes>': stdout (the per-recipient report) and stderr carry
    no terminal control, with -v too."""
    for verbose in ([], ["-v"]):
        mailer = SmtpMailer(ehlo=["8BITMIME", "ENHANCEDSTATUSCODES"])
        rules = [on(r"RCPT .*", b"550 5.1.1 no such user " + HOSTILE + b"\r\n")]
        with ScriptedServer(rules, greeting="220 fake.example ESMTP", unexpected="502 5.5.2 unexpected",
                            fallback=mailer) as srv:
            res, out, err = run_bytes(ctx, verbose + smtp_args(srv) + SEND)
            srv.settle()
        what = f"an SMTP reply with terminal escapes{' (-v)' if verbose else ''}"
        check(res.rc not in (0, None), f"{what}: a refused recipient, yet exit code {res.rc}", res)
        expect_terminal_safe(out, f"{what}: stdout", res)
        expect_terminal_safe(err, f"{what}: stderr", res)
        check("\\x1b]0;pwned" in res.stdout + res.stderr, f"{what}: the reply is not shown visibly", res)


@scenario
def list_headers_c1_and_bidi(ctx):
    """list --headers of messages whose Subject decodes to C1 controls (U+009B) and a
    right-to-left override, and whose From has a raw C1 octet: the table shows <U+...>/\\xHH,
    nothing raw; --json is valid JSON."""
    m1 = header_message("c1", encoded_word("pay \u009b31m now \u202eexe.txt \u2066x\u2069"))
    m2 = (b"From: evil\x9b31m <e@example.org>\nSubject: \x1b]52;c;ZXZpbA==\x07 clip\n"
          b"Message-ID: <c2@mailwrench.test>\n\nbody\n")
    with ScriptedServer([], fallback=Pop3Mailbox([m1, m2])) as srv:
        res, out, _ = run_bytes(ctx, pop3_args(srv) + ["list", "--headers"])
        expect_ok(res, "list --headers with C1 and bidi controls")
        expect_terminal_safe(out, "list --headers", res)
        check("<U+202E>" in res.stdout and "<U+009B>" in res.stdout and "\\x9b" in res.stdout,
              "list --headers: the controls are not shown visibly", res)
        res, out, _ = run_bytes(ctx, pop3_args(srv) + ["--json", "list", "--headers"])
        expect_ok(res, "list --headers --json with C1 and bidi controls")
        try:
            doc = json.loads(out.decode("utf-8", "strict"))
        except (UnicodeDecodeError, ValueError) as e:
            fail(f"list --headers --json is not valid UTF-8 JSON ({e})", res)
        for m in doc["messages"]:
            expect_terminal_safe((m["from"] + m["subject"]).encode(), f"JSON message {m['number']}", res)


@scenario
def top_on_terminal_is_visible_into_pipe_raw(ctx):
    """top of a message with escape sequences, C1 and bidi controls in its header and body: on a
    terminal (a pty) they are shown visibly (tabs and line feeds stay); into a pipe the message
    goes exactly as the server sent it."""
    msg = (b"From: a@example.org\nSubject: \x1b]0;title\x07 \xe2\x80\xae\n\n"
           b"body\tline \x1b[2J\xc2\x9b \xe2\x80\xaetxt.exe \xff\xfe\n"
           + "multi-octet split: ".encode() + ("日本語" * 300 + "\n").encode() * 90 + b"last\n")
    with ScriptedServer([], fallback=Pop3Mailbox([msg])) as srv:
        res, out, _ = run_bytes(ctx, pop3_args(srv) + ["top", "1", "--lines", "100"], tty=True)
        expect_ok(res, "top on a terminal")
        expect_terminal_safe(out, "top on a terminal", res)
        for shown in (b"\\x1b]0;title\\x07", b"<U+202E>", b"<U+009B>", b"\\xff\\xfe", b"body\tline"):
            check(shown in out, f"top on a terminal: {shown!r} is not shown", res)
        # Lines of 2700 octets (a terminal cuts lines over 4096, issue 13.5), 243 KB in all: the
        # chunks split characters.
        check(("日本語" * 300 + "\n").encode() * 89 in out, "top on a terminal: UTF-8 text was mangled", res)
        res, out, _ = run_bytes(ctx, pop3_args(srv) + ["top", "1", "--lines", "100"])
        expect_ok(res, "top into a pipe")
        eq(out, msg, "top into a pipe: the message as the server sent it", res)


@scenario
def json_output_cannot_control_terminal(ctx):
    """top --json of a message and send --json with a reply carrying C1 and bidi controls: the
    document escapes them (\\u009b, \\u202e; JSON escapes the C0 ones) and stays valid UTF-8 JSON
    with the same strings."""
    msg = b"From: a@example.org\nSubject: \xc2\x9b31m \xe2\x80\xaetxt.exe\n\nbody \x1b[2J \xff\n"
    with ScriptedServer([], fallback=Pop3Mailbox([msg])) as srv:
        res, out, _ = run_bytes(ctx, pop3_args(srv) + ["--json", "top", "1", "--lines", "10"])
    expect_ok(res, "top --json")
    expect_terminal_safe(out, "top --json", res)
    content = json.loads(out)["messages"][0]["content"]
    check("\u009b31m \u202etxt.exe" in content and "\x1b[2J" in content, "top --json: the content changed", res)
    mailer = SmtpMailer(ehlo=["8BITMIME", "ENHANCEDSTATUSCODES"])
    rules = [on(r"RCPT .*", b"550 5.1.1 no \xc2\x9b31m \xe2\x80\xaeuser\r\n")]
    with ScriptedServer(rules, greeting="220 fake.example ESMTP", unexpected="502 5.5.2 unexpected",
                        fallback=mailer) as srv:
        res, out, err = run_bytes(ctx, smtp_args(srv) + ["--json"] + SEND)
        srv.settle()
    expect_terminal_safe(out, "send --json", res)
    expect_terminal_safe(err, "send --json: stderr", res)
    doc = json.loads(out)
    check(any("\u202euser" in r["text"] for r in doc["recipients"]), "send --json: the reply text changed", res)


# =========================================================================== item 16

@scenario
def subject_anchor_is_whole_field(ctx):
    """An encoded-word Subject that decodes to 'Quarterly report\\nURGENT' and a plain 'URGENT':
    purge --dry-run --subject '^URGENT$' selects only the plain one (Boost's multi-line default
    made ^/$ match at the LF); the table shows the first as 'Quarterly report URGENT'."""
    msgs = [header_message("q1", encoded_word("Quarterly report\nURGENT")), header_message("q2", "URGENT")]
    box = Pop3Mailbox(msgs)
    with ScriptedServer([], fallback=box) as srv:
        res = ctx.run(pop3_args(srv) + ["--json", "purge", "--dry-run", "--subject", "^URGENT$"],
                      password=PASSWORD)
        expect_ok(res, "purge --dry-run --subject '^URGENT$'")
        eq([m["number"] for m in res.json()["would_delete"]], [2], "selected by '^URGENT$'", res)
        res = ctx.run(pop3_args(srv) + ["--json", "purge", "--dry-run", "--header", "Subject: ^urgent"],
                      password=PASSWORD)
        expect_ok(res, "purge --dry-run --header 'Subject: ^urgent'")
        eq([m["number"] for m in res.json()["would_delete"]], [2], "selected by --header 'Subject: ^urgent'", res)
        res = ctx.run(pop3_args(srv) + ["list", "--headers"], password=PASSWORD)
        expect_ok(res, "list --headers")
        check("Quarterly report URGENT" in res.stdout, "the table does not show the LF as a space", res)
    eq(box.committed_deletes, [], "messages deleted by a dry run", res)


@scenario
def two_from_fields_both_shown(ctx):
    """A message with two From fields; --from matches the second: the table and the JSON show
    both fields, the one that matched first, not only the first field."""
    msgs = [header_message("f1", "hello", ["Boss <boss@example.org>", "Mallory <mallory@evil.test>"]),
            header_message("f2", "other")]
    with ScriptedServer([], fallback=Pop3Mailbox(msgs)) as srv:
        res = ctx.run(pop3_args(srv) + ["--json", "purge", "--dry-run", "--from", "mallory@evil\\.test>$"],
                      password=PASSWORD)
        expect_ok(res, "purge --dry-run --from 'mallory@evil\\.test>$'")
        rows = res.json()["would_delete"]
        eq([m["number"] for m in rows], [1], "selected by --from", res)
        check("mallory@evil.test" in rows[0]["from"], "the JSON 'from' does not show the From that matched", res)
        res = ctx.run(pop3_args(srv) + ["purge", "--dry-run", "--from", "mallory@evil\\.test>$"], password=PASSWORD)
        expect_ok(res, "purge --dry-run --from (table)")
        check("mallory@evil.test" in res.stdout and "boss@example.org" in res.stdout and
              res.stdout.index("mallory@evil.test") < res.stdout.index("boss@example.org"),
              "the table does not show the From that matched first (a cut column would hide it)", res)


# =========================================================================== item 10

def baseline_rss(ctx) -> int:
    with ScriptedServer([], fallback=Pop3Mailbox([header_message("tiny", "tiny")])) as srv:
        res, peak = ctx.run_measured(pop3_args(srv) + ["stat"], password=PASSWORD)
    expect_ok(res, "baseline: stat of a one-message mailbox")
    return peak


def expect_bounded(ctx, peak: int, res: mw.Result, what: str, extra_mib: int):
    if not ctx.rss_checked(what):
        return
    base = baseline_rss(ctx)
    check(peak <= base + extra_mib * MIB,
          f"{what}: peak RSS {peak // MIB} MiB, more than {extra_mib} MiB above a trivial run's "
          f"{base // MIB} MiB", res)


def huge_header_reply(tag: str) -> bytes:
    """A TOP n 0 reply: From, Subject, Date and then 1 MiB of X-Filler fields, and a 64 KiB
    Received field and a 64 KiB Subject-like field that filters must not keep whole."""
    filler = b"".join(b"X-Filler-%05d: " % i + b"f" * 1000 + b"\n" for i in range(1040))
    head = (b"From: Sender <s@example.org>\nSubject: needle " + tag.encode() + b"\n"
            b"Date: Mon, 1 Jun 2020 12:00:00 +0000\nX-Long: " + b"L" * 65536 + b"\n" + filler)
    return b"+OK\r\n" + pop3_wire(head + b"\n") + b".\r\n"


@scenario
def top_headers_bounded_memory(ctx):
    """250 messages whose TOP n 0 replies carry 1 MiB of header each: purge --dry-run --subject
    (which reads every header) runs within 40 MiB of a trivial run's peak RSS (it kept up to
    1 MiB per message for all messages at once: 250 MiB and more), and still selects by Subject
    and by a 64 KiB field (of which the first 4096 octets are matched)."""
    count = 250
    small = [header_message(f"s{i}", "small") for i in range(count)]
    reply = huge_header_reply("x")
    rules = [on(r"TOP \d+ 0", reply, times=None)]
    with ScriptedServer(rules, fallback=Pop3Mailbox(small)) as srv:
        args = pop3_args(srv, timeout=30) + ["--json", "purge", "--dry-run", "--subject", "^needle x$",
                                             "--header", "X-Long: ^L+$"]
        res, peak = ctx.run_measured(args, password=PASSWORD, timeout=60)
        srv.settle()
    what = f"{count} messages with 1 MiB headers"
    expect_ok(res, what)
    doc = json.loads((ctx.scratch / "measured.out").read_text())  # res.stdout is cut at 20000
    eq(doc["count"], count, f"{what}: messages selected by --subject", res)
    expect_bounded(ctx, peak, res, what, extra_mib=40)


@scenario
def await_headers_bounded_memory(ctx):
    """send --await ACCOUNT against a POP3 account of 400 messages whose TOP n 0 replies carry
    256 KiB of header each (none is the message sent): it kept up to 256 KiB per message for all
    of them (100 MiB); now only the Message-IDs: within 40 MiB of a trivial run's peak RSS, and
    exit 75 when --await-timeout has passed."""
    count = 400
    filler = b"".join(b"X-Filler-%05d: " % i + b"f" * 1000 + b"\n" for i in range(262))
    reply = b"+OK\r\n" + pop3_wire(b"From: s@example.org\nMessage-ID: <other@example.org>\n" + filler
                                    + b"\n") + b".\r\n"
    # The first UIDL (the baseline taken before the send) finds an empty mailbox: the 400
    # messages arrive after it, so each is a candidate whose header must be read.
    pop3 = ScriptedServer([on(r"UIDL", b"+OK\r\n.\r\n", times=1), on(r"TOP \d+ 0", reply, times=None)],
                          fallback=Pop3Mailbox([header_message(f"a{i}", "small") for i in range(count)]))
    smtp = ScriptedServer([], greeting="220 fake.example ESMTP", unexpected="502 5.5.2 unexpected",
                          fallback=SmtpMailer(ehlo=["8BITMIME"]))
    with pop3, smtp:
        cfg = ctx.file("await-config", f"[account box]\nhost = 127.0.0.1\nport = {pop3.port}\ntls = none\n"
                                       f"allow-plaintext = true\nuser = box\npassword-command = echo x\n")
        args = ["--config", str(cfg)] + smtp_args(smtp) + SEND + ["--await", "box", "--await-timeout", "2"]
        res, peak = ctx.run_measured(args, password=PASSWORD, timeout=60)
        pop3.settle()
    what = f"send --await over {count} messages with 256 KiB headers"
    check(res.rc == 75, f"{what}: exit code {res.rc}, expected 75 (not arrived)", res)
    check(len([v for v in pop3.verbs() if v == "TOP"]) >= count, f"{what}: not every header was read", res)
    expect_bounded(ctx, peak, res, what, extra_mib=40)


@scenario
def list_rows_capped(ctx):
    """A LIST reply of 1,000,001 rows (more than any real maildrop): 76 naming the limit."""
    rows = b"".join(b"%d 100\r\n" % i for i in range(1, 1_000_002))
    rules = login() + [on(r"LIST", b"+OK\r\n" + rows + b".\r\n")]
    with ScriptedServer(rules) as srv:
        res = ctx.run(pop3_args(srv, timeout=30) + ["list"], password=PASSWORD, timeout=60)
        srv.settle()
    expect_error(res, EX_PROTOCOL, r"LIST.*(rows|lines|more than)", "a LIST of 1,000,001 rows")


@scenario
def smtp_reply_lines_capped(ctx):
    """An EHLO reply of 5000 lines (RFC 5321 has no limit, no server needs more than a few
    dozen): 76 naming the limit, nothing sent."""
    lines = ["fake.example"] + [f"X-EXTENSION-{i}" for i in range(5000)]
    mailer = SmtpMailer(ehlo=["8BITMIME"])
    rules = [on(r"EHLO .*", smtp_reply(250, *lines))]
    with ScriptedServer(rules, greeting="220 fake.example ESMTP", unexpected="502 5.5.2 unexpected",
                        fallback=mailer) as srv:
        res = ctx.run(smtp_args(srv) + SEND)
        srv.settle()
        expect_error(res, EX_PROTOCOL, r"reply.*(lines|more than)", "an EHLO reply of 5001 lines")
        check(not srv.saw(r"MAIL .*"), "MAIL was sent after an over-long reply", res)


if __name__ == "__main__":
    sys.exit(mw.main())
