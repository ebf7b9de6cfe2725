#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 14: `mailwrench check [SELECTION]` finds the broken message. Against the real Dovecot
fixture (alice's and bob's messages are clean: exit 0; crafted broken messages delivered into a
scratch mailbox: exit 1 with their codes; a 200 MB message in < 32 MiB RSS), and against the
scripted misbehaving server of tests/support: a server that drops the connection inside one
message (the session is reopened for the others, the report names the message), lies about a
size, refuses one RETR, sends a message without its end, or drops every session (bounded
retries, exit 74)."""
from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_ok, scenario  # noqa: E402
from scripted_server import (Pop3Mailbox, ScriptedServer, close, multiline, on, pause, pop3_wire,  # noqa: E402
                             stall)

PASSWORD = "check-Pa55-" + os.urandom(4).hex()
EX_IO = 74


def hide_password():
    if all(secret != PASSWORD for secret, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (PASSWORD, "<password of the scripted server's user>"))


def scripted(ctx, srv: ScriptedServer, args: list[str], timeout: int = 10) -> mw.Result:
    hide_password()
    res = ctx.run(["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
                   "-u", "checker", "--timeout", str(timeout)] + args, password=PASSWORD, timeout=60)
    srv.settle()
    return res


def problems(doc: dict) -> dict[int, list[str]]:
    """{number: [codes]} of a check --json document."""
    return {m["number"]: [p["code"] for p in m["problems"]] for m in doc["messages"]}


def expect_schema(doc: dict, res: mw.Result):
    eq(sorted(doc), ["checked", "messages", "with_errors", "with_warnings"], "top-level keys", res)
    for m in doc["messages"]:
        eq(sorted(m), ["number", "problems", "size", "uid"], "message keys", res)
        for p in m["problems"]:
            eq(sorted(p), ["code", "detail", "severity", "where"], "problem keys", res)
            check(p["severity"] in ("error", "warning"), f"severity {p['severity']}", res)


def clean(tag: str) -> bytes:
    return mw.message(tag, body=f"{tag}: a clean message.\n")


# Crafted broken messages (LF line endings, as Dovecot stores them), by the code they must get.
BROKEN = {
    "header-no-separator": b"From: a@example.org\nDate: Mon, 1 Jun 2020 12:00:00 +0000\n"
                           b"Message-ID: <nosep@mailwrench.test>\n"
                           b"Subject: no separator\nthis is already the body\n",
    "nul-byte": mw.message("nul", body=b"a NUL \x00 in the body\n"),
    "mime-truncated": mw.message("trunc", headers=["Content-Type: multipart/mixed; boundary=zz"],
                                 body="--zz\nContent-Type: text/plain\n\nfirst part\n--zz\n\nthe second "
                                      "part never ends\n"),
    "base64-invalid": mw.message("b64", headers=["Content-Type: application/octet-stream",
                                                 "Content-Transfer-Encoding: base64"],
                                 body="aGVsbG8g***garbage***d29ybGQ=\n"),
    "header-line-too-long": mw.message("long", headers=["Content-Type: text/plain",
                                                        "X-Huge: " + "h" * 5000]),
    "from-missing": b"To: b@example.org\nDate: Mon, 1 Jun 2020 12:00:00 +0000\n"
                    b"Message-ID: <nofrom@mailwrench.test>\nSubject: no from\n\nb\n",
    "mime-boundary-missing": mw.message("nob", headers=["Content-Type: multipart/mixed"],
                                        body="--x\n\nt\n--x--\n"),
}


@scenario
def check_fixture_clean(ctx):
    """alice's 20 messages (RFC 2047, 8-bit, a 100,000-character line, CRLF, ~200 KB) and bob's
    have no error: exit 0, every message checked, the JSON schema as documented."""
    for user in ("alice", "bob"):
        res = ctx.run(ctx.conn(user=user) + ["--json", "check"], user=user)
        expect_ok(res, f"check of {user}'s mailbox")
        doc = res.json()
        expect_schema(doc, res)
        eq(doc["checked"], len(ctx.messages(user)), f"{user}: messages checked", res)
        eq(doc["with_errors"], 0, f"{user}: messages with errors", res)
        for m in doc["messages"]:
            check(all(p["severity"] == "warning" for p in m["problems"]),
                  f"{user}: message {m['number']} has only warnings", res)
    # The plain form: the summary line.
    res = ctx.run(ctx.conn() + ["check"], user="alice")
    expect_ok(res, "plain check of alice")
    check(re.search(r"^20 messages checked: 0 with errors, \d+ with warnings only$", res.stdout, re.M),
          "the summary line", res)


@scenario
def check_finds_broken(ctx):
    """Crafted broken messages among clean ones: each gets its code, the clean ones none; exit
    1; a plain row per message with problems (number, UID, size, severity, codes, From,
    Subject), -v adds every finding's detail; --json the documented schema."""
    codes = list(BROKEN)
    box = ctx.mailbox([clean("first")] + [BROKEN[c] for c in codes] + [clean("last")], "check")
    res = box.run(["--json", "check"])
    eq(res.rc, 1, "exit status with broken messages", res)
    doc = res.json()
    expect_schema(doc, res)
    eq(doc["checked"], len(codes) + 2, "checked", res)
    eq(doc["with_errors"], len(codes), "with_errors", res)
    found = problems(doc)
    check(1 not in found and len(codes) + 2 not in found, "the clean messages have no problem", res)
    for i, code in enumerate(codes, start=2):
        check(code in found.get(i, []), f"message {i} has {code}: {found.get(i)}", res)
        row = next(m for m in doc["messages"] if m["number"] == i)
        eq(row["uid"], box.uid(i), f"message {i}'s UID", res)
        eq(row["size"], len(mw.crlf(box.msg(i))), f"message {i}'s size", res)

    res = box.run(["check"])
    eq(res.rc, 1, "plain: exit status", res)
    row = next(line for line in res.stdout.splitlines() if line.startswith("4 "))
    check(box.uid(4) in row and "error" in row and "mime-truncated" in row and "trunc" in row,
          f"the row of message 4: {row!r}", res)
    check(re.search(rf"^{len(codes) + 2} messages checked: {len(codes)} with errors", res.stdout, re.M),
          "the summary", res)
    check("closing boundary '--zz--' is missing" not in res.stdout, "no details without -v", res)
    res = box.run(["-v", "check", "4"])
    eq(res.rc, 1, "-v: exit status", res)
    check("closing boundary '--zz--' is missing" in res.stdout, "-v shows the detail", res)
    check(re.search(r"^> RETR 4$", res.stderr, re.M) and not re.search(r"^> RETR [^4]", res.stderr, re.M),
          "only the selected message is downloaded", res)
    # A selection of clean messages: exit 0.
    expect_ok(box.run(["check", "1", str(len(codes) + 2)]), "check of the clean messages")


@scenario
def check_large_message_bounded_memory(ctx):
    """A 200 MB message is checked streaming: peak RSS < 32 MiB."""
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3\n"
    body = line * (200 * 1000 * 1000 // len(line))
    big = mw.message("big", headers=["Content-Type: application/octet-stream",
                                      "Content-Transfer-Encoding: base64"], body=body)
    box = ctx.mailbox([big], "checkbig")
    del body, big
    res, peak_kib = ctx.run_measured(box.conn() + ["--json", "check"], password=box.password, timeout=300)
    expect_ok(res, "check of a 200 MB message")
    eq(res.json()["with_errors"], 0, "no error", res)
    if ctx.rss_checked("check of a 200 MB message"):
        check(peak_kib < 32 * 1024, f"peak RSS {peak_kib} KiB < 32 MiB", res)


def three() -> list[bytes]:
    return [clean("one"), clean("two"), clean("three")]


@scenario
def check_server_drops_inside_message(ctx):
    """The server hangs up inside message 2 (the classic stuck mailbox): message 2 gets
    connection-lost and is named as the one that ended the session; the session is reopened
    and message 3 is still checked; exit 1."""
    box = Pop3Mailbox(three())
    part = pop3_wire(box.messages[1])[:40]
    with ScriptedServer([on(r"RETR 2", b"+OK\r\n" + part, close())], fallback=box) as srv:
        res = scripted(ctx, srv, ["--json", "check"])
        eq(res.rc, 1, "exit status", res)
        doc = res.json()
        eq(doc["checked"], 3, "all three checked", res)
        eq(problems(doc), {2: ["connection-lost"]}, "message 2 ended the session", res)
        detail = doc["messages"][0]["problems"][0]["detail"]
        check("after 40 of the" in detail and "ended the session" in detail, f"detail: {detail}", res)
        check(len(srv.sessions) == 2, f"one reconnect: {len(srv.sessions)} sessions", res)
        check(re.search(r"reopening", res.stderr), "the reconnect is said on stderr", res)


@scenario
def check_reconnect_finds_messages_by_uid(ctx):
    """After the drop inside message 1, the new session's UIDL no longer has message 3 (another
    client deleted it) and message 2 is now number 1: the rest is found by UID, RETR 1 checks
    it, message 3 is not asked for and a warning says it is gone."""
    box = Pop3Mailbox(three())
    first = multiline("+OK", [f"{i} {box.uids[i - 1]}" for i in (1, 2, 3)])
    second = multiline("+OK", [f"1 {box.uids[1]}"])
    rules = [on(r"UIDL$", first), on(r"RETR 1", b"+OK\r\nFrom: x", close()), on(r"UIDL$", second)]
    with ScriptedServer(rules, fallback=box) as srv:
        res = scripted(ctx, srv, ["--json", "check"])
        eq(res.rc, 1, "exit status", res)
        doc = res.json()
        eq(problems(doc), {1: ["connection-lost"]}, "message 1 ended the session", res)
        eq(doc["checked"], 2, "messages 1 and 2 checked", res)
        check(re.search(rf"message 3 \(UID {box.uids[2]}\) is no longer in the mailbox", res.stderr),
              "the warning about message 3", res)
        check("RETR 1" in srv.sessions[1] and not any(l.startswith("RETR 2") or l.startswith("RETR 3") for l in srv.sessions[1]),
              f"the second session asks for the renumbered message only: {srv.sessions[1]}", res)


@scenario
def check_server_lies_about_size(ctx):
    """LIST says 10 octets more than RETR sends: size-mismatch; an honest size: nothing."""
    msgs = three()
    box = Pop3Mailbox(msgs, list_sizes={3: len(pop3_wire(msgs[2])) + 10})
    with ScriptedServer([], fallback=box) as srv:
        res = scripted(ctx, srv, ["--json", "check"])
        eq(res.rc, 1, "exit status", res)
        eq(problems(res.json()), {3: ["size-mismatch"]}, "message 3's size", res)


@scenario
def check_server_refuses_retr(ctx):
    """RETR 1 answered -ERR: retr-refused for it, the others are checked."""
    with ScriptedServer([on(r"RETR 1", "-ERR message is corrupted on disk")],
                        fallback=Pop3Mailbox(three())) as srv:
        res = scripted(ctx, srv, ["--json", "check"])
        eq(res.rc, 1, "exit status", res)
        doc = res.json()
        eq(problems(doc), {1: ["retr-refused"]}, "message 1 refused", res)
        check("corrupted on disk" in doc["messages"][0]["problems"][0]["detail"], "the server's text", res)
        eq(doc["checked"], 3, "checked", res)


@scenario
def check_server_sends_no_end(ctx):
    """The whole message, then the connection closes without the final '.':
    message-unterminated."""
    box = Pop3Mailbox(three())
    with ScriptedServer([on(r"RETR 1", b"+OK\r\n" + pop3_wire(box.messages[0]), close())],
                        fallback=box) as srv:
        res = scripted(ctx, srv, ["--json", "check"])
        eq(res.rc, 1, "exit status", res)
        eq(problems(res.json()), {1: ["message-unterminated"]}, "message 1 has no end", res)


@scenario
def check_server_stalls_inside_message(ctx):
    """The server stops sending inside message 1 (--timeout 2): retr-timeout for it, the
    session is reopened and messages 2 and 3 are checked."""
    box = Pop3Mailbox(three())
    with ScriptedServer([on(r"RETR 1", b"+OK\r\n" + pop3_wire(box.messages[0])[:30], stall())],
                        fallback=box) as srv:
        res = scripted(ctx, srv, ["--json", "check"], timeout=2)
        eq(res.rc, 1, "exit status", res)
        doc = res.json()
        eq(problems(doc), {1: ["retr-timeout"]}, "message 1 timed out", res)
        eq(doc["checked"], 3, "all three checked", res)


@scenario
def check_progress_on_a_terminal(ctx):
    """With standard error on a terminal, a progress line ("[####....] N/M messages ...") is
    drawn while messages arrive and erased before the report; on a pipe there is none."""
    box = Pop3Mailbox([clean(f"p{i}") for i in range(4)])
    rules = [on(r"RETR 2", pause(0.4), b"+OK\r\n" + pop3_wire(box.messages[1]) + b".\r\n")]
    with ScriptedServer(rules, fallback=box) as srv:
        hide_password()
        env = ctx.base_env(None)
        env["MAILWRENCH_PASSWORD"] = PASSWORD
        argv = [ctx.bin, "-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
                "-u", "checker", "check"]
        master, slave = pty.openpty()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        err = b""
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            err += data
        out = p.stdout.read().decode()
        rc = p.wait()
        os.close(master)
        res = mw.Result(argv, rc, out, err.decode(errors="replace"), time.monotonic() - t0)
        eq(rc, 0, "exit status", res)
        check(re.search(rb"\[[#.]{20}\] \d/4 messages", err), "a progress line on the terminal", res)
        check(err.endswith(b"\r\x1b[K"), "the progress line is erased at the end", res)
        check("4 messages checked: 0 with errors" in out, "the summary on standard output", res)


@scenario
def check_usage_errors(ctx):
    """Invalid limits are usage errors (64) naming the option, before any connection."""
    for args, option in ((["--max-depth", "x"], "--max-depth"), (["--max-header", "10Q"], "--max-header"),
                         (["--retries", "-1"], "--retries")):
        res = ctx.run(ctx.conn() + ["check"] + args)
        eq(res.rc, 64, f"check {' '.join(args)}: exit status", res)
        check(option in res.stderr, f"the error names {option}", res)


@scenario
def check_gives_up_after_retries(ctx):
    """Every session dies inside a message: after --retries reopenings, what was found is
    printed and the run exits 74 naming the messages not checked."""
    box = Pop3Mailbox([clean(f"m{i}") for i in range(5)])
    with ScriptedServer([on(r"RETR \d+", b"+OK\r\nFrom: a", close(), times=None)], fallback=box) as srv:
        res = scripted(ctx, srv, ["--json", "check", "--retries", "2"])
        eq(res.rc, EX_IO, "exit status", res)
        last = res.stderr_lines[-1]
        check(re.match(r"mailwrench: error: .*gave up after reopening the session 2 times: 2 messages "
                       r"were not checked", last), f"the error line: {last!r}", res)
        eq(len([l for l in res.stderr_lines if l.startswith("mailwrench: error:")]), 1, "one error line", res)
        eq(problems(res.json()), {1: ["connection-lost"], 2: ["connection-lost"], 3: ["connection-lost"]},
           "the three messages that ended sessions", res)


mw.main()
