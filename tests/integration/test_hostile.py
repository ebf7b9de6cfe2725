#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A hostile world: misbehaving POP3 and SMTP servers (tests/support/scripted_server.py) that hang
up, stall, trickle, send endless lines, malformed numbers, replies nobody asked for, odd UIDs,
response codes, refuse STLS/STARTTLS, or present bad certificates.

Every scenario checks the exit code (sysexits, DESIGN.md), that stderr is exactly one
"mailwrench: error: ..." line naming the problem, and where it matters the promise "nothing lost":
no DELE followed by QUIT reached the server (RFC 1939: deletions happen only at QUIT), and the
Maildir (-o maildir:DIR in the scenario's temp dir) holds only complete messages — new/ and cur/
hold exact copies of messages the server really had, tmp/ is empty.

The scenarios need no real server, but run under the Dovecot fixture like every integration
test (mwtest.main). Exit codes: 64 usage, 69 unavailable, 74 I/O, 75 temporary (timeouts,
[IN-USE] ...), 76 protocol, 77 permission (auth, certificates, TLS refused).
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_error, expect_ok, fail, scenario  # noqa: E402
from scripted_server import (Pop3Mailbox, ScriptedServer, Send, close, multiline, on, pop3_wire,  # noqa: E402
                             smtp_reply, stall, start_tls, trickle)
from sasl_server import SmtpMailer  # noqa: E402
from tls_certs import TestCerts  # noqa: E402

EX_IO, EX_TEMPFAIL, EX_PROTOCOL, EX_NOPERM, EX_UNAVAILABLE = 74, 75, 76, 77, 69
PASSWORD = "hostile-Pa55-" + os.urandom(4).hex()
CAPA = multiline("+OK capability list follows", ["USER", "UIDL", "TOP", "PIPELINING", "RESP-CODES",
                                                 "AUTH-RESP-CODE"])
CLOSED = r"clos|reset|hung up|disconnect|EOF|end of"
TIMEOUT = r"time(d)? ?out|too slow|did not complete|within"
MIB = 1024


# --------------------------------------------------------------------------- helpers

def login(capa: bytes = CAPA) -> list:
    """Rules for a server that logs anybody in with USER/PASS (CAPA as often as asked)."""
    return [on(r"CAPA", capa, times=None), on(r"USER \S+", "+OK"), on(r"PASS .*", "+OK logged in")]


def hide_password():
    """Failure reports show <...> instead of the scripted server's password (mwtest.main resets
    the list of secrets before the scenarios run, so this is done when a command line is made)."""
    if all(secret != PASSWORD for secret, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (PASSWORD, "<password of the scripted server's user>"))


def pop3_args(srv: ScriptedServer, timeout: int = 10, tls: str = "none", host: str = "127.0.0.1") -> list[str]:
    hide_password()
    args = ["-H", host, "-p", str(srv.port), "--tls", tls, "-u", "hostile", "--timeout", str(timeout)]
    return args + (["--allow-plaintext"] if tls == "none" else [])


def run(ctx, srv: ScriptedServer, args: list[str], timeout: int = 10, **kw) -> mw.Result:
    res = ctx.run(pop3_args(srv, timeout) + args, password=PASSWORD, timeout=40, **kw)
    srv.settle()
    return res


def msg(tag: str, lines: int = 200, body: bytes | None = None) -> bytes:
    return mw.message(tag, body=body if body is not None else
                      b"".join(b"%s line %05d of the body\n" % (tag.encode(), i) for i in range(lines)))


def maildir(ctx) -> Path:
    return ctx.scratch / "md"


def stored(md: Path) -> list[bytes]:
    """Contents of new/ and cur/ (sorted); checks that tmp/ is empty."""
    if not md.exists():
        return []
    tmp = sorted((md / "tmp").iterdir()) if (md / "tmp").exists() else []
    if tmp:
        fail(f"partial files left in {md}/tmp: {[p.name for p in tmp]}")
    out = []
    for sub in ("new", "cur"):
        if (md / sub).exists():
            out += [p.read_bytes() for p in (md / sub).iterdir()]
    return sorted(out)


def expect_only_complete(md: Path, messages: list[bytes], res: mw.Result, what: str) -> list[bytes]:
    """The Maildir holds only exact copies of the server's messages, each at most once."""
    got = stored(md)
    for data in got:
        check(data in messages, f"{what}: the Maildir holds a message that is not one of the server's "
                                f"(partial or mis-assigned): {data[:120]!r}... ({len(data)} octets)", res)
    eq(len(got), len(set(got)), f"{what}: messages stored twice", res)
    return got


def expect_nothing_deleted(srv: ScriptedServer, res: mw.Result, what: str, box: Pop3Mailbox | None = None):
    verbs = srv.verbs()
    check(not ("DELE" in verbs and "QUIT" in verbs[verbs.index("DELE"):]),
          f"{what}: the server saw DELE and then QUIT (messages deleted): {verbs}", res)
    if box is not None:
        eq(box.committed_deletes, [], f"{what}: messages deleted on the server", res)


def expect_no_credentials(srv: ScriptedServer, res: mw.Result, what: str):
    sent = [l for l in srv.received if re.match(r"(?i)(USER|PASS|APOP|AUTH)\b", l)]
    eq(sent, [], f"{what}: login commands the server received", res)
    check(PASSWORD not in "\n".join(srv.received), f"{what}: the password reached the server", res)


def expect_elapsed(res: mw.Result, low: float, high: float, what: str):
    check(low <= res.elapsed <= high,
          f"{what}: took {res.elapsed:.1f} s, expected between {low} and {high} s", res)


def baseline_rss(ctx) -> int:
    """Peak RSS (KiB) of a run that does almost nothing (stat of a one-message mailbox)."""
    with ScriptedServer([], fallback=Pop3Mailbox([msg("tiny", 1)])) as srv:
        res, peak = ctx.run_measured(pop3_args(srv) + ["stat"], password=PASSWORD)
    expect_ok(res, "baseline: stat of a one-message mailbox")
    return peak


def expect_bounded(ctx, peak: int, res: mw.Result, what: str, extra_mib: int = 8):
    if not ctx.rss_checked(what):
        return
    base = baseline_rss(ctx)
    check(peak <= base + extra_mib * MIB,
          f"{what}: peak RSS {peak // MIB} MiB, more than {extra_mib} MiB above a trivial run's "
          f"{base // MIB} MiB (a 10 MB line was buffered?)", res)


# =========================================================================== connection trouble

@scenario
def greeting_never_sent(ctx):
    """The server accepts and never sends its greeting: --timeout 2 ends it with 75 in ~2 s."""
    with ScriptedServer([], greeting=None) as srv:
        res = run(ctx, srv, ["stat"], timeout=2)
        expect_error(res, EX_TEMPFAIL, TIMEOUT, "greeting never sent, --timeout 2")
        expect_elapsed(res, 1.5, 4.5, "greeting never sent, --timeout 2")
        eq(srv.received, [], "commands sent before any greeting", res)


@scenario
def closed_after_greeting(ctx):
    with ScriptedServer([], greeting=["+OK hello", close()]) as srv:
        res = run(ctx, srv, ["stat"])
        expect_error(res, EX_IO, CLOSED, "connection closed right after the greeting")


@scenario
def closed_after_pass(ctx):
    with ScriptedServer([on(r"CAPA", CAPA, times=None), on(r"USER \S+", "+OK"), on(r"PASS .*", close())]) as srv:
        res = run(ctx, srv, ["stat"])
        expect_error(res, EX_IO, CLOSED, "connection closed after PASS")
        check(srv.saw(r"PASS .*"), "the server never got PASS (the scenario did not happen)", res)


@scenario
def closed_in_status_line(ctx):
    """'+OK 3 1' of STAT and then the connection closes, without CRLF."""
    with ScriptedServer(login() + [on(r"STAT", b"+OK 3 1", close())]) as srv:
        res = run(ctx, srv, ["stat"])
        expect_error(res, EX_IO, CLOSED, "connection closed in the middle of STAT's status line")
        eq(res.stdout, "", "stdout after a cut status line", res)


@scenario
def closed_in_retr(ctx):
    """fetch --delete of three messages; the connection closes 5000 octets into RETR 2: 74,
    message 1 stored complete, nothing of message 2 on disk, nothing deleted."""
    msgs = [msg(f"cut{i}") for i in (1, 2, 3)]
    box = Pop3Mailbox(msgs)
    with ScriptedServer([on(r"RETR 2", b"+OK\r\n" + pop3_wire(msgs[1])[:5000], close())], fallback=box) as srv:
        res = run(ctx, srv, ["fetch", "--delete", "-o", f"maildir:{maildir(ctx)}"])
        what = "connection closed in the middle of RETR 2"
        expect_error(res, EX_IO, CLOSED, what)
        expect_nothing_deleted(srv, res, what, box)
        got = expect_only_complete(maildir(ctx), msgs, res, what)
        check(msgs[1] not in got, f"{what}: message 2 cannot be complete", res)


# =========================================================================== endless and huge lines

@scenario
def status_line_10mb(ctx):
    """A STAT status line of 10 MB without CRLF (the connection stays open): 76 at once, in
    bounded memory (a reply line has a limit)."""
    with ScriptedServer(login() + [on(r"STAT", Send(b"+OK " + b"1" * 10_000_000, chunk=65536), stall())]) as srv:
        res, peak = ctx.run_measured(pop3_args(srv) + ["stat"], password=PASSWORD)
        what = "a 10 MB status line without CRLF"
        expect_error(res, EX_PROTOCOL, r"line|long", what)
        expect_elapsed(res, 0, 5, what)
    expect_bounded(ctx, peak, res, what)


@scenario
def body_line_10mb(ctx):
    """A message whose body is one 10 MB line: fetch streams it to the Maildir (DESIGN: "Stream,
    don't buffer"): exit 0, stored byte for byte, peak RSS bounded."""
    big = mw.message("bigline", body=b"y" * 10_000_000 + b"\nend\n")
    box = Pop3Mailbox([msg("before"), big])
    with ScriptedServer([], fallback=box) as srv:
        res, peak = ctx.run_measured(pop3_args(srv) + ["fetch", "-o", f"maildir:{maildir(ctx)}"], password=PASSWORD)
    what = "fetch of a message with a 10 MB body line"
    expect_ok(res, what)
    eq(len(expect_only_complete(maildir(ctx), box.messages, res, what)), 2, f"{what}: messages stored", res)
    expect_bounded(ctx, peak, res, what)


@scenario
def body_line_10mb_top(ctx):
    """top MSG --lines 1 of a message whose first body line is 10 MB: written out as it comes."""
    big = mw.message("bigtop", body=b"y" * 10_000_000 + b"\nsecond\n")
    with ScriptedServer([], fallback=Pop3Mailbox([big])) as srv:
        res, peak = ctx.run_measured(pop3_args(srv) + ["top", "1", "--lines", "1"], password=PASSWORD)
    expect_ok(res, "top 1 --lines 1 of a message with a 10 MB body line")
    out = (ctx.scratch / "measured.out").read_bytes()
    eq(len(out), len(big) - len(b"second\n"), "top 1 --lines 1: octets written (header, blank line, the 10 MB line)", res)
    expect_bounded(ctx, peak, res, "top of a 10 MB body line")


@scenario
def header_line_10mb_list(ctx):
    """A Subject of 10 MB: list --headers reads headers in bounded memory (the header section is
    cut at a limit) and still lists the message."""
    big = mw.message("bighdr", subject="z" * 10_000_000)
    with ScriptedServer([], fallback=Pop3Mailbox([msg("small", 3), big])) as srv:
        res, peak = ctx.run_measured(pop3_args(srv) + ["--json", "list", "--headers"], password=PASSWORD)
    what = "list --headers with a 10 MB Subject line"
    expect_ok(res, what)
    doc = json.loads((ctx.scratch / "measured.out").read_bytes())
    eq([m["number"] for m in doc["messages"]], [1, 2], f"{what}: messages listed", res)
    expect_bounded(ctx, peak, res, what)


@scenario
def multiline_never_terminated(ctx):
    """LIST's reply never ends (no '.' line; the connection stays open): 75 by --timeout 2."""
    with ScriptedServer(login() + [on(r"LIST", b"+OK\r\n1 100\r\n2 200\r\n", stall())]) as srv:
        res = run(ctx, srv, ["list"], timeout=2)
        expect_error(res, EX_TEMPFAIL, TIMEOUT, "a LIST reply that never ends, --timeout 2")
        expect_elapsed(res, 1.5, 4.5, "a LIST reply that never ends")


@scenario
def retr_never_terminated(ctx):
    """fetch --delete; RETR 2 sends the whole message but never the final '.': 75 by --timeout 2,
    message 1 stored, message 2 not (it may have more to come), nothing deleted."""
    msgs = [msg(f"nt{i}") for i in (1, 2, 3)]
    box = Pop3Mailbox(msgs)
    with ScriptedServer([on(r"RETR 2", b"+OK\r\n" + pop3_wire(msgs[1]), stall())], fallback=box) as srv:
        res = run(ctx, srv, ["fetch", "--delete", "-o", f"maildir:{maildir(ctx)}"], timeout=2)
        what = "RETR 2 never terminated"
        expect_error(res, EX_TEMPFAIL, TIMEOUT, what)
        expect_elapsed(res, 1.5, 4.5, what)
        expect_nothing_deleted(srv, res, what, box)
        got = expect_only_complete(maildir(ctx), msgs, res, what)
        check(msgs[1] not in got, f"{what}: message 2 was stored although its '.' never came", res)


# =========================================================================== malformed numbers

def malformed(ctx, command: str, reply: bytes, argv: list[str]):
    with ScriptedServer(login() + [on(command, reply), on(r"UIDL", multiline("+OK", ["1 a", "2 b"]))]) as srv:
        res = run(ctx, srv, argv)
        expect_error(res, EX_PROTOCOL, rf"{command.split()[0]}|malformed|invalid|unexpected",
                     f"{command} answered with {reply[:60]!r}")
        eq(res.stdout, "", "stdout after a malformed reply", res)


for _name, _reply in (("negative", "+OK -1 100"), ("negative_octets", "+OK 1 -100"),
                      ("non_numeric", "+OK many 100"), ("non_numeric_octets", "+OK 1 lots"),
                      ("overflow", "+OK 18446744073709551616 100"),
                      ("overflow_octets", "+OK 1 99999999999999999999999"), ("missing", "+OK")):
    mw.add(f"stat_{_name}", malformed, "STAT", _reply.encode() + b"\r\n", ["stat"])

for _name, _rows in (("negative", ["1 -5"]), ("negative_number", ["-1 100"]), ("non_numeric", ["1 abc"]),
                     ("non_numeric_number", ["x 100"]), ("overflow", ["1 18446744073709551616"]),
                     ("overflow_number", ["18446744073709551617 10"]), ("zero_number", ["0 100"])):
    mw.add(f"list_{_name}", malformed, "LIST", multiline("+OK", _rows), ["list"])


@scenario
def list_total_overflows(ctx):
    """Two messages of 2^64-1 octets each (each fits, the sum does not): the total must not wrap
    around silently — either 76, or the exact total."""
    top = 2 ** 64 - 1
    with ScriptedServer(login() + [on(r"LIST", multiline("+OK", [f"1 {top}", f"2 {top}"])),
                                   on(r"UIDL", multiline("+OK", ["1 a", "2 b"]))]) as srv:
        res = run(ctx, srv, ["--json", "list"])
    if res.rc == EX_PROTOCOL:
        return
    expect_ok(res, "list of two 2^64-1-octet messages")
    doc = res.json()
    eq(doc.get("octets"), 2 * top, "list --json: 'octets' (the total) of two 2^64-1-octet messages "
                                   "(wrapped around 2^64?)", res)


@scenario
def list_and_retr_sizes_disagree(ctx):
    """LIST says 100 for a 30 KB message and 900000 for a small one: fetch trusts the terminating
    '.', stores both exactly, exit 0."""
    msgs = [msg("liar1", 1000), msg("liar2", 2)]
    box = Pop3Mailbox(msgs, list_sizes={1: 100, 2: 900_000})
    with ScriptedServer([], fallback=box) as srv:
        res = run(ctx, srv, ["fetch", "-o", f"maildir:{maildir(ctx)}"])
    expect_ok(res, "fetch with LIST sizes that disagree with RETR")
    eq(expect_only_complete(maildir(ctx), msgs, res, "LIST/RETR sizes disagree"), sorted(msgs),
       "messages stored (exactly, both)", res)


# =========================================================================== UIDs

def fetch_new(ctx, box: Pop3Mailbox, extra: list[str] = ()) -> tuple[mw.Result, ScriptedServer]:
    # The state file belongs to one mailbox, host and port: every run of a scenario on one port.
    with ScriptedServer([], fallback=box, port=getattr(ctx, "fetch_new_port", 0)) as srv:
        ctx.fetch_new_port = srv.port
        res = run(ctx, srv, ["fetch", "--new", "--state", str(ctx.scratch / "state.uids"), *extra,
                             "-o", f"maildir:{maildir(ctx)}"])
    return res, srv


@scenario
def uidl_duplicate_uids(ctx):
    """UIDL gives two messages the same UID. --new must neither skip nor double a message, and
    --delete must never delete one that was not stored:
      run 1: [m1 'dup', m2 'dup', m3 'u3'] -> all three stored once
      run 2: the same mailbox -> nothing new stored, nothing doubled
      run 3 (--delete): m4 arrives, also with UID 'dup' -> m4 must be stored (or the run refused
             with an error), and no message deleted that is not on disk."""
    m1, m2, m3, m4 = (msg(f"dup{i}", 3) for i in (1, 2, 3, 4))
    res, _ = fetch_new(ctx, Pop3Mailbox([m1, m2, m3], uids=["dup", "dup", "u3"]))
    expect_ok(res, "run 1 with duplicate UIDs")
    eq(expect_only_complete(maildir(ctx), [m1, m2, m3], res, "run 1"), sorted([m1, m2, m3]),
       "run 1: stored (each once)", res)
    res, _ = fetch_new(ctx, Pop3Mailbox([m1, m2, m3], uids=["dup", "dup", "u3"]))
    expect_ok(res, "run 2, same mailbox")
    eq(expect_only_complete(maildir(ctx), [m1, m2, m3], res, "run 2"), sorted([m1, m2, m3]),
       "run 2: nothing new, nothing doubled", res)
    box = Pop3Mailbox([m1, m2, m3, m4], uids=["dup", "dup", "u3", "dup"])
    res, srv = fetch_new(ctx, box, ["--delete"])
    on_disk = expect_only_complete(maildir(ctx), [m1, m2, m3, m4], res, "run 3")
    lost = [n for n in box.committed_deletes if box.messages[n - 1] not in on_disk]
    eq(lost, [], "run 3 (--delete, a new message m4 with the UID 'dup' of stored ones): messages deleted "
                 f"on the server that are not on disk (server saw {srv.received})", res)
    if res.rc == 0:
        check(m4 in on_disk, "run 3: m4 (new, but its UID 'dup' was recorded) was skipped", res)
    else:
        check(len(res.stderr_lines) == 1 and mw.ERROR_LINE.match(res.stderr_lines[0]) and
              re.search(r"UID|duplicate", res.stderr_lines[0], re.I),
              "run 3 failed without one error line naming the duplicate UIDs", res)


@scenario
def uidl_overlong_uids(ctx):
    """UIDs of 200 and 5000 characters (RFC 1939: at most 70): accepted like any other; --new
    stores each message once over two runs."""
    msgs = [msg(f"long{i}", 3) for i in (1, 2, 3)]
    uids = ["x" * 200, "y" * 5000, "u3"]
    for n in (1, 2):
        res, _ = fetch_new(ctx, Pop3Mailbox(msgs, uids=uids))
        expect_ok(res, f"run {n} with over-long UIDs")
        eq(expect_only_complete(maildir(ctx), msgs, res, f"run {n}"), sorted(msgs),
           f"run {n}: stored, each once", res)
    state = (ctx.scratch / "state.uids").read_text()
    check(all(u in state.splitlines() for u in uids), "the state file does not hold the over-long UIDs", res)


@scenario
def uidl_uid_longer_than_a_line(ctx):
    """A UIDL line of 9000 octets (beyond the reply line limit): 76, nothing stored, nothing deleted."""
    msgs = [msg(f"huge{i}", 3) for i in (1, 2)]
    box = Pop3Mailbox(msgs, uids=["z" * 9000, "u2"])
    res, srv = fetch_new(ctx, box, ["--delete"])
    expect_error(res, EX_PROTOCOL, r"line|long|UID", "a 9000-octet UIDL line")
    expect_nothing_deleted(srv, res, "a 9000-octet UIDL line", box)
    eq(stored(maildir(ctx)), [], "messages stored after a malformed UIDL", res)


# =========================================================================== response codes at login

def login_refused(ctx, code: str, exit_code: int):
    capa = multiline("+OK", ["USER", "UIDL", "RESP-CODES", "AUTH-RESP-CODE"])
    with ScriptedServer([on(r"CAPA", capa, times=None), on(r"USER \S+", "+OK"),
                         on(r"PASS .*", f"-ERR [{code}] the server says no")]) as srv:
        res = run(ctx, srv, ["stat"])
        expect_error(res, exit_code, re.escape(code), f"-ERR [{code}] at login")


for _code, _exit in (("IN-USE", EX_TEMPFAIL), ("LOGIN-DELAY", EX_TEMPFAIL), ("SYS/TEMP", EX_TEMPFAIL),
                     ("SYS/PERM", EX_UNAVAILABLE), ("AUTH", EX_NOPERM)):
    mw.add("login_" + _code.lower().replace("/", "_").replace("-", "_"), login_refused, _code, _exit)


# =========================================================================== replies nobody asked for

@scenario
def unsolicited_ok_after_greeting(ctx):
    """An extra '+OK' line right after the greeting, before the reply to CAPA: mailwrench may
    resynchronise or fail with 76, but must not crash, hang, or report wrong numbers."""
    with ScriptedServer(login() + [on(r"STAT", "+OK 2 3000")], greeting=b"+OK hello\r\n+OK\r\n") as srv:
        res = run(ctx, srv, ["stat"])
    if res.rc == EX_PROTOCOL:
        expect_error(res, EX_PROTOCOL, r"unexpected|unsolicited|reply", "an unsolicited +OK")
        return
    expect_ok(res, "an unsolicited +OK after the greeting (else 76)")
    eq(res.stdout.strip(), "2 messages, 3000 octets", "stat after an unsolicited +OK", res)


@scenario
def unsolicited_reply_in_pipeline(ctx):
    """The server answers RETR 1 and then sends a second, unasked-for multi-line reply (an
    injected message). With PIPELINING, mailwrench has already sent RETR 2: if it takes the
    injected reply for RETR 2, it stores a message the server does not have under UID 2, records
    UID 2 as fetched (a later --new --delete would delete the real message 2 unread), and takes the
    real reply to RETR 2 for the reply to QUIT. Required: no silent mis-assignment — 76, and the
    state file does not claim a message that is not on disk."""
    msgs = [msg("inj1", 20), msg("inj2", 20)]
    injected = b"+OK\r\nFrom: injected@evil.example\r\nSubject: not from this mailbox\r\n\r\nbogus\r\n.\r\n"
    box = Pop3Mailbox(msgs)
    state = ctx.scratch / "state.uids"
    with ScriptedServer([on(r"RETR 1", b"+OK\r\n" + pop3_wire(msgs[0]) + b".\r\n" + injected)], fallback=box) as srv:
        res = run(ctx, srv, ["fetch", "--new", "--state", str(state), "-o", f"maildir:{maildir(ctx)}"])
    on_disk = stored(maildir(ctx))
    recorded = [l for l in (state.read_text().splitlines() if state.exists() else []) if not l.startswith("#")]
    claimed = [u for u in recorded if u in box.uids and box.messages[box.uids.index(u)] not in on_disk]
    eq(claimed, [], "UIDs recorded as fetched whose message is not on disk", res)
    foreign = [d[:60] for d in on_disk if d not in msgs]
    eq(foreign, [], "messages stored that the server does not have", res)
    expect_error(res, EX_PROTOCOL, r"unexpected|unsolicited|reply|protocol", "an injected extra RETR reply")


@scenario
def unsolicited_garbage_after_greeting(ctx):
    """A line that is no POP3 reply at all arrives after the greeting: 76, naming it."""
    with ScriptedServer(login(), greeting=b"+OK hello\r\n* this is not POP3\r\n") as srv:
        res = run(ctx, srv, ["stat"])
    expect_error(res, EX_PROTOCOL, r"unexpected|reply|this is not POP3", "garbage after the greeting")


@scenario
def smtp_unsolicited_reply_after_greeting(ctx):
    """An SMTP server sends an extra '250' line after its greeting. With PIPELINING every later
    reply is taken for the one before: EHLO gets the stray 250, MAIL the EHLO reply, ... and DATA
    gets RCPT's 250 instead of 354. Required: no report of success unless the server really got
    the message (else 76)."""
    mailer = SmtpMailer(ehlo=["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"])
    with smtp_server([], greeting="220 fake.example ESMTP\r\n250 2.0.0 unsolicited", fallback=mailer) as srv:
        res = ctx.run(smtp_args(srv) + SEND)
        srv.settle()
    if res.rc == 0:
        eq(len(mailer.data), 1, "send reported success: messages the server received (the body after DATA; "
                                f"server saw {srv.received})", res)
    else:
        expect_error(res, EX_PROTOCOL, r"unexpected|reply|unsolicited", "an unsolicited SMTP reply")


@scenario
def smtp_data_answered_250(ctx):
    """DATA answered '250' instead of '354' (RFC 5321: 354, or an error): the message was not
    transmitted, so send must not report it sent: 76."""
    mailer = SmtpMailer(ehlo=["8BITMIME", "ENHANCEDSTATUSCODES"])
    with smtp_server([on(r"DATA", "250 2.0.0 ok, whatever")], fallback=mailer) as srv:
        res = ctx.run(smtp_args(srv) + SEND)
        srv.settle()
    expect_error(res, EX_PROTOCOL, r"DATA|354|unexpected|reply", "DATA answered with 250")
    eq(len(mailer.data), 0, "messages the server received", res)


# =========================================================================== hostile header bytes

@scenario
def headers_invalid_utf8_and_nul_json(ctx):
    """Headers with invalid UTF-8, NUL, ESC and other control bytes, a lone surrogate encoding,
    and encoded-words that decode to invalid UTF-8 or NUL: list --headers --json is still one
    valid JSON document (strict UTF-8), and the plain listing carries no control bytes."""
    m1 = (b"From: \xff\xfe bad <a@example.org>\nTo: x@example.org\n"
          b"Subject: nul\x00here \xc3\x28 and =?utf-8?b?/w==?= and =?utf-8?q?=00x?=\n"
          b"Date: Mon, 1 Jun 2020 12:00:00 +0000\nMessage-ID: <h1@mailwrench.test>\n\nbody\n")
    m2 = (b"From: ok@example.org\nSubject: \x01\x1b[31mred\x7f \xed\xa0\x80 surrogate \xf4\x90\x80\x80 big\n"
          b"Date: \x00\xff\nMessage-ID: <h2@mailwrench.test>\n\nbody\n")
    with ScriptedServer([], fallback=Pop3Mailbox([m1, m2])) as srv:
        res, raw = ctx.run_raw(pop3_args(srv) + ["--json", "list", "--headers"], password=PASSWORD)
        expect_ok(res, "list --headers --json with hostile header bytes")
        try:
            doc = json.loads(raw.decode("utf-8", "strict"))
        except (UnicodeDecodeError, ValueError) as e:
            fail(f"list --headers --json: stdout is not valid UTF-8 JSON ({e})", res)
        eq([m.get("number") for m in doc.get("messages", [])], [1, 2], "messages listed", res)
        for m in doc["messages"]:
            for k in ("from", "subject"):
                v = m.get(k)
                check(isinstance(v, str), f"message {m['number']}: '{k}' is not a string", res)
                check(not any(0xD800 <= ord(c) <= 0xDFFF for c in v), f"message {m['number']}: '{k}' has a surrogate", res)
        check("nul" in doc["messages"][0]["subject"] and "red" in doc["messages"][1]["subject"],
              "the readable parts of the Subjects are kept", res)
        res, raw = ctx.run_raw(pop3_args(srv) + ["list", "--headers"], password=PASSWORD)
        expect_ok(res, "list --headers (plain) with hostile header bytes")
        bad = sorted({b for b in raw if b < 0x20 and b not in (0x09, 0x0A)} | ({0x7F} & set(raw)))
        eq(bad, [], "control bytes in the plain listing (terminal escapes from a server)", res)
        raw.decode("utf-8", "strict")


# =========================================================================== SMTP

SEND = ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "x", "--body", "hello"]


def smtp_server(rules: list, greeting="220 fake.example ESMTP", **kw) -> ScriptedServer:
    return ScriptedServer(rules, greeting=greeting, unexpected="502 5.5.2 unexpected command", **kw)


def smtp_args(srv: ScriptedServer, tls: str = "none", timeout: int = 10, host: str = "127.0.0.1") -> list[str]:
    hide_password()
    return ["-H", host, "-p", str(srv.port), "--tls", tls, "--timeout", str(timeout)]


EHLO_OK = smtp_reply(250, "fake.example", "PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES")


def smtp_mixed(ctx, where: str):
    if where == "greeting":
        srv = smtp_server([], greeting="220-fake.example ESMTP\r\n554 5.3.2 no service after all")
    elif where == "ehlo":
        srv = smtp_server([on(r"EHLO .*", "250-fake.example\r\n250-PIPELINING\r\n550 5.7.1 8BITMIME")])
    elif where == "rcpt":
        srv = smtp_server([on(r"EHLO .*", EHLO_OK), on(r"MAIL .*", "250 2.1.0 ok"),
                           on(r"RCPT .*", "250-2.1.5 ok\r\n451 4.3.0 later")])
    else:  # the final reply to DATA
        srv = smtp_server([], fallback=SmtpMailer(ehlo=["8BITMIME", "ENHANCEDSTATUSCODES"],
                                                  final_reply="250-2.0.0 queued as X1\r\n550 5.7.1 rejected"))
    with srv:
        res = ctx.run(smtp_args(srv) + SEND)
        srv.settle()
    expect_error(res, EX_PROTOCOL, r"multi-line|code|reply|malformed", f"SMTP multi-line reply with mixed codes ({where})")


for _where in ("greeting", "ehlo", "rcpt", "data"):
    mw.add(f"smtp_mixed_codes_{_where}", smtp_mixed, _where)


def smtp_starttls_refused(ctx, reply: str, codes: tuple[int, ...]):
    """STARTTLS advertised, answered with an error: no AUTH, no MAIL, no password, ever."""
    ehlo = smtp_reply(250, "fake.example", "STARTTLS", "AUTH PLAIN LOGIN", "PIPELINING")
    with smtp_server([on(r"EHLO .*", ehlo, times=None), on(r"STARTTLS", reply)],
                     fallback=SmtpMailer()) as srv:
        res = ctx.run(smtp_args(srv, tls="starttls") + ["-u", "hostile"] + SEND, password=PASSWORD)
        srv.settle()
        what = f"STARTTLS answered {reply!r}"
        expect_error(res, codes, r"STARTTLS|TLS", what)
        bad = [v for v in srv.verbs() if v in ("AUTH", "MAIL", "RCPT", "DATA")]
        eq(bad, [], f"{what}: commands sent after the refusal", res)
        check(PASSWORD not in "\n".join(srv.received), f"{what}: the password reached the server", res)


# 454 is a temporary reply: DESIGN maps SMTP 4xx to 75; 77/69 are as good (TLS is required).
mw.add("smtp_starttls_refused_454", smtp_starttls_refused, "454 4.7.0 TLS not available due to local problem",
       (EX_TEMPFAIL, EX_NOPERM, EX_UNAVAILABLE))
mw.add("smtp_starttls_refused_554", smtp_starttls_refused, "554 5.7.3 no TLS for you", (EX_NOPERM, EX_UNAVAILABLE))


@scenario
def stls_refused(ctx):
    """POP3: STLS in CAPA, but STLS answered -ERR: 77/69, no USER/PASS/AUTH/APOP ever sent."""
    capa = multiline("+OK", ["STLS", "USER", "SASL PLAIN LOGIN", "UIDL", "TOP"])
    with ScriptedServer([on(r"CAPA", capa, times=None), on(r"STLS", "-ERR TLS is broken today"),
                         on(r"(USER|PASS|AUTH|APOP)\b.*", "+OK", times=None)]) as srv:
        res = ctx.run(pop3_args(srv, tls="starttls") + ["stat"], password=PASSWORD)
        srv.settle()
        expect_error(res, (EX_NOPERM, EX_UNAVAILABLE), r"STLS|TLS", "STLS answered with -ERR")
        expect_no_credentials(srv, res, "STLS answered with -ERR")


@scenario
def smtp_trickled_greeting(ctx):
    """An SMTP greeting trickled one octet a second: --timeout 2 ends it with 75 in 2-5 s."""
    with smtp_server([], greeting=trickle("220 fake.example ESMTP trickling along, one octet at a time\r\n")) as srv:
        res = ctx.run(smtp_args(srv, timeout=2) + SEND, timeout=30)
    expect_error(res, EX_TEMPFAIL, TIMEOUT, "a trickled SMTP greeting, --timeout 2")
    expect_elapsed(res, 1.5, 5, "a trickled SMTP greeting, --timeout 2")


# =========================================================================== certificates

def certs(ctx) -> TestCerts:
    try:
        return TestCerts(ctx.scratch / "certs")
    except RuntimeError as e:
        raise mw.Skip(str(e))


CERT_REASON = {
    "expired": r"expired",
    "not_yet": r"not yet valid",
    "self_signed": r"self[- ]signed|not trusted|unknown|issuer",
    "wrong_host": r"host ?name|does not match|mismatch",
    "weak_key": r"weak|too small|key|bits",
}


def tls_pop3(ctx, kind: str, mode: str = "implicit", env: dict | None = None):
    """POP3 over TLS whose certificate is `kind`: 77 with the reason, no credentials sent."""
    c = certs(ctx)
    box = Pop3Mailbox([msg("tls", 3)], capa=["STLS", "USER", "UIDL", "TOP"])
    rules = [on(r"STLS", "+OK begin TLS", start_tls())] if mode == "starttls" else []
    with ScriptedServer(rules, fallback=box, tls_context=c.server_context(kind),
                        implicit_tls=(mode == "implicit")) as srv:
        res = ctx.run(pop3_args(srv, tls=mode, host="localhost") + ["--cacert", c.ca, "stat"],
                      password=PASSWORD, env=env)
        srv.settle()
        what = f"POP3 {mode} TLS with a {kind.replace('_', '-')} certificate"
        if kind == "good":
            expect_ok(res, what)
            check(srv.tls_connections == 1, f"{what}: no TLS session on the server side", res)
            return
        expect_error(res, EX_NOPERM, CERT_REASON[kind], what)
        expect_no_credentials(srv, res, what)


for _kind in ("good", "expired", "not_yet", "self_signed", "wrong_host", "weak_key"):
    mw.add(f"tls_{_kind}", tls_pop3, _kind)
for _kind in ("expired", "self_signed", "wrong_host", "weak_key"):
    mw.add(f"stls_{_kind}", tls_pop3, _kind, "starttls")


@scenario
def tls_weak_key_openssl_level1(ctx):
    """RSA-1024 under OpenSSL's own default security level 1 (an OPENSSL_CONF that sets it, as a
    system whose OpenSSL is not built with level 2 would have): mailwrench must still refuse the
    80-bit key by itself, not rely on the distribution's default."""
    conf = ctx.file("openssl-level1.cnf",
                    "openssl_conf = openssl_init\n[openssl_init]\nssl_conf = ssl_sect\n"
                    "[ssl_sect]\nsystem_default = system_default_sect\n"
                    "[system_default_sect]\nCipherString = DEFAULT:@SECLEVEL=1\n")
    tls_pop3(ctx, "weak_key", env={"OPENSSL_CONF": str(conf)})


def tls_smtp(ctx, kind: str, mode: str):
    c = certs(ctx)
    sasl_ehlo = ["AUTH PLAIN LOGIN", "PIPELINING", "8BITMIME"]
    rules = []
    if mode == "starttls":
        rules = [on(r"EHLO .*", smtp_reply(250, "fake.example", "STARTTLS", "PIPELINING")),
                 on(r"STARTTLS", "220 2.0.0 go ahead", start_tls())]
    with smtp_server(rules, fallback=SmtpMailer(ehlo=sasl_ehlo), tls_context=c.server_context(kind),
                     implicit_tls=(mode == "implicit")) as srv:
        res = ctx.run(smtp_args(srv, tls=mode, host="localhost") + ["--cacert", c.ca, "-u", "hostile"] + SEND,
                      password=PASSWORD)
        srv.settle()
        what = f"SMTP {mode} TLS with a {kind.replace('_', '-')} certificate"
        expect_error(res, EX_NOPERM, CERT_REASON[kind], what)
        bad = [v for v in srv.verbs() if v in ("AUTH", "MAIL", "RCPT", "DATA")]
        eq(bad, [], f"{what}: commands the server received", res)


for _kind in ("expired", "self_signed", "wrong_host"):
    mw.add(f"smtp_starttls_{_kind}", tls_smtp, _kind, "starttls")
mw.add("smtps_weak_key", tls_smtp, "weak_key", "implicit")


# =========================================================================== trickling servers

@scenario
def trickled_greeting(ctx):
    """The greeting arrives one octet a second: no single read times out, but the first line of a
    reply must be complete within --timeout: --timeout 2 → 75 in 2-5 s."""
    with ScriptedServer([], greeting=trickle("+OK this greeting trickles in one octet a second\r\n")) as srv:
        res = run(ctx, srv, ["stat"], timeout=2)
    expect_error(res, EX_TEMPFAIL, TIMEOUT, "a trickled greeting, --timeout 2")
    expect_elapsed(res, 1.5, 5, "a trickled greeting, --timeout 2")


@scenario
def trickled_retr_body(ctx):
    """fetch --delete; RETR 2's status line comes at once, the body at 2 octets a second (data
    must come at 1 KiB per --timeout at least): --timeout 2 → 75 in 2-5 s; message 1 stored,
    nothing of message 2, nothing deleted."""
    msgs = [msg(f"tr{i}") for i in (1, 2, 3)]
    box = Pop3Mailbox(msgs)
    with ScriptedServer([on(r"RETR 2", b"+OK\r\n", trickle(pop3_wire(msgs[1]) + b".\r\n", per_octet=0.5))],
                        fallback=box) as srv:
        res = run(ctx, srv, ["fetch", "--delete", "-o", f"maildir:{maildir(ctx)}"], timeout=2)
        what = "RETR 2 trickled at 2 octets a second, --timeout 2"
        expect_error(res, EX_TEMPFAIL, TIMEOUT, what)
        expect_elapsed(res, 1.5, 5, what)
        expect_nothing_deleted(srv, res, what, box)
        eq(expect_only_complete(maildir(ctx), msgs, res, what), [msgs[0]], f"{what}: stored", res)


if __name__ == "__main__":
    sys.exit(mw.main())
