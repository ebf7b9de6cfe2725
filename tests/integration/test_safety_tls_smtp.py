#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue #11, items 9, 12, 13 and 19, against the scripted servers of tests/support/:

  9  --fingerprint replaces the chain and host-name checks, not the security floor: a pinned
     RSA-1024 or SHA-1-signed certificate is refused (77) before any credential is sent.
 12  some recipients accepted, others deferred (4xx): exit 1 (partial), never 75, and every
     recipient's outcome reported; 75 only when nobody accepted the message.
 13  --no-pipelining: a reply nobody asked for (a doubled +OK) is detected: 76, nothing deleted.
 19  a NUL byte in the message to a server without BINARYMIME: 65 naming line and offset,
     nothing sent.

Every scenario checks the exit code and the single "mailwrench: error: ..." line (mwtest), and
what reached the server. Like every integration test they run under the Dovecot fixture.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_error, expect_ok, scenario  # noqa: E402
from scripted_server import (Pop3Mailbox, ScriptedServer, corked, multiline, on, pop3_wire, smtp_reply,  # noqa: E402
                             start_tls)
from sasl_server import SaslServer, SmtpMailer  # noqa: E402
from tls_certs import TestCerts  # noqa: E402

EX_PARTIAL, EX_DATAERR, EX_TEMPFAIL, EX_PROTOCOL, EX_NOPERM = 1, 65, 75, 76, 77
PASSWORD = "safety-Pa55-" + os.urandom(4).hex()


def hide_password():
    if all(secret != PASSWORD for secret, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (PASSWORD, "<password of the scripted server's user>"))


def pop3_args(srv: ScriptedServer, tls: str = "none", host: str = "127.0.0.1", timeout: int = 10) -> list[str]:
    hide_password()
    args = ["-H", host, "-p", str(srv.port), "--tls", tls, "-u", "safety", "--timeout", str(timeout)]
    return args + (["--allow-plaintext"] if tls == "none" else [])


def smtp_server(rules: list, greeting="220 fake.example ESMTP", **kw) -> ScriptedServer:
    return ScriptedServer(rules, greeting=greeting, unexpected="502 5.5.2 unexpected command", **kw)


def smtp_args(srv: ScriptedServer, tls: str = "none", host: str = "127.0.0.1", timeout: int = 10) -> list[str]:
    hide_password()
    return ["-H", host, "-p", str(srv.port), "--tls", tls, "--timeout", str(timeout)]


def msg(tag: str, lines: int = 20) -> bytes:
    return mw.message(tag, body=b"".join(b"%s line %03d\n" % (tag.encode(), i) for i in range(lines)))


def expect_no_credentials(srv: ScriptedServer, res: mw.Result, what: str):
    sent = [l for l in srv.received if re.match(r"(?i)(USER|PASS|APOP|AUTH)\b", l)]
    eq(sent, [], f"{what}: login commands the server received", res)
    check(PASSWORD not in "\n".join(srv.received), f"{what}: the password reached the server", res)


# =========================================================================== 9: pinned weak certificates

def certs(ctx) -> TestCerts:
    try:
        return TestCerts(ctx.scratch / "certs")
    except RuntimeError as e:
        raise mw.Skip(str(e))


FLOOR_REASON = {
    "weak_key": r"1024|bits|key|weak",
    "sha1_sig": r"SHA-?1|signature|weak",
}


def pinned_pop3(ctx, kind: str, mode: str):
    """POP3 over TLS (implicit or STLS) with --fingerprint of a `kind` certificate and no
    --cacert: a good one logs in; a weak one is refused with 77 and no credential is sent."""
    c = certs(ctx)
    box = Pop3Mailbox([msg("pin", 3)], capa=["STLS", "USER", "UIDL", "TOP"])
    rules = [on(r"STLS", "+OK begin TLS", start_tls())] if mode == "starttls" else []
    with ScriptedServer(rules, fallback=box, tls_context=c.server_context(kind),
                        implicit_tls=(mode == "implicit")) as srv:
        res = ctx.run(pop3_args(srv, tls=mode, host="localhost") + ["--fingerprint", c.fingerprint(kind), "stat"],
                      password=PASSWORD)
        srv.settle()
        what = f"POP3 {mode} TLS, --fingerprint of a {kind.replace('_', '-')} certificate"
        check(srv.tls_connections == 1, f"{what}: no TLS session on the server side (server: {srv.notes})", res)
        if kind == "good":
            expect_ok(res, what)
            check(srv.saw(r"PASS .*"), f"{what}: the pinned good certificate did not lead to a login", res)
            return
        expect_error(res, EX_NOPERM, FLOOR_REASON[kind], what)
        expect_no_credentials(srv, res, what)


for _kind in ("good", "weak_key", "sha1_sig"):
    for _mode in ("implicit", "starttls"):
        mw.add(f"pinned_{_kind}_{'tls' if _mode == 'implicit' else 'stls'}", pinned_pop3, _kind, _mode)


def pinned_smtp(ctx, kind: str):
    """SMTPS with --fingerprint of a `kind` certificate and -u: weak ones get 77, no AUTH, no MAIL."""
    c = certs(ctx)
    sasl = SaslServer("safety", PASSWORD, protocol="smtp", mechanisms=("PLAIN",))
    mailer = SmtpMailer(ehlo=[sasl.capa_line(), "PIPELINING", "8BITMIME"])
    with smtp_server([], fallback=[sasl, mailer], tls_context=c.server_context(kind), implicit_tls=True) as srv:
        res = ctx.run(smtp_args(srv, tls="implicit", host="localhost") +
                      ["--fingerprint", c.fingerprint(kind), "-u", "safety"] + SEND, password=PASSWORD)
        srv.settle()
        what = f"SMTPS, --fingerprint of a {kind.replace('_', '-')} certificate"
        if kind == "good":
            expect_ok(res, what)
            eq(sasl.successes, ["PLAIN"], f"{what}: logins", res)
            eq(len(mailer.data), 1, f"{what}: messages the server received", res)
            return
        expect_error(res, EX_NOPERM, FLOOR_REASON[kind], what)
        bad = [v for v in srv.verbs() if v in ("AUTH", "MAIL", "RCPT", "DATA")]
        eq(bad, [], f"{what}: commands the server received", res)
        check(PASSWORD not in "\n".join(srv.received), f"{what}: the password reached the server", res)


SEND = ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "x", "--body", "hello"]

for _kind in ("good", "weak_key", "sha1_sig"):
    mw.add(f"pinned_{_kind}_smtps", pinned_smtp, _kind)


# =========================================================================== 12: some recipients deferred

GOOD, DEFER, GONE = "good@example.org", "defer@example.org", "gone@example.org"
RCPT_RULES = [on(rf"RCPT TO:<{re.escape(DEFER)}>.*", "450 4.2.0 <defer@example.org>: try again later", times=None),
              on(rf"RCPT TO:<{re.escape(GONE)}>.*", "550 5.1.1 <gone@example.org>: no such user", times=None)]


def mixed_recipients(ctx, recipients: list[str], pipelining: bool, as_json: bool):
    """Recipients of which the server accepts some (250), defers some (450), refuses some (550).
    Accepted for anyone: exit 1 (a retry of the whole would duplicate the mail for them), each
    recipient's outcome reported; nobody accepted and a deferral: 75; nothing but 550: 65."""
    mailer = SmtpMailer(ehlo=["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"])
    argv = ["send", "--from", "a@example.org", "--subject", "x", "--body", "hello"]
    for r in recipients:
        argv += ["--to", r]
    with smtp_server(RCPT_RULES, fallback=mailer) as srv:
        res = ctx.run(smtp_args(srv) + (["--json"] if as_json else []) +
                      ([] if pipelining else ["--no-pipelining"]) + argv)
        srv.settle()
    what = f"send to {recipients} ({'pipelined' if pipelining else '--no-pipelining'}, " \
           f"{'--json' if as_json else 'plain'})"
    accepted = [r for r in recipients if r == GOOD]
    expected = EX_PARTIAL if accepted else (EX_TEMPFAIL if DEFER in recipients else EX_DATAERR)
    eq(res.rc, expected, f"{what}: exit status", res)
    # (pipelined DATA with no recipient accepted is ended empty, RFC 2920 section 3.1)
    eq(len([d for d in mailer.data if d]), 1 if accepted else 0, f"{what}: messages the server received", res)
    outcome = {GOOD: (True, 250), DEFER: (False, 450), GONE: (False, 550)}
    if as_json:
        doc = res.json()
        check("error" not in doc or doc.get("recipients"), f"{what}: no per-recipient report", res)
        eq([(r["address"], r["accepted"], r["code"]) for r in doc["recipients"]],
           [(r, *outcome[r]) for r in recipients], f"{what}: recipients in the JSON document", res)
    else:
        word = {GOOD: "accepted", DEFER: "deferred", GONE: "rejected"}
        for r in recipients:
            pat = rf"^{word[r]}\s+{re.escape(r)}\s+{outcome[r][1]}\b"
            check(re.search(pat, res.stdout, re.M), f"{what}: no line /{pat}/ on stdout", res)
    if expected == EX_PARTIAL:
        lines = res.stderr_lines
        check(len(lines) == 1 and re.search(r"defer|temporar|refused|not accepted", lines[0], re.I),
              f"{what}: stderr must be one line saying that some recipients did not get it", res)
        if DEFER in recipients:
            check(re.search(re.escape(DEFER), lines[0]),
                  f"{what}: the warning does not name the deferred recipient to retry", res)


for _name, _rcpts in (("good_and_deferred", [GOOD, DEFER]), ("deferred_and_good", [DEFER, GOOD]),
                      ("good_deferred_refused", [GOOD, DEFER, GONE]), ("good_and_refused", [GOOD, GONE]),
                      ("only_deferred", [DEFER]), ("deferred_and_refused", [DEFER, GONE])):
    for _pipe in (True, False):
        for _json in (True, False):
            mw.add(f"rcpt_{_name}{'' if _pipe else '_lockstep'}{'_json' if _json else ''}",
                   mixed_recipients, _rcpts, _pipe, _json)


# =========================================================================== 13: lock-step replies nobody asked for

OUT_OF_STEP = r"nobody asked|unsolicited|more replies|out of step"


def stored(md: Path) -> list[bytes]:
    """Contents of new/ and cur/ (sorted); tmp/ must be empty."""
    if not md.exists():
        return []
    tmp = list((md / "tmp").iterdir()) if (md / "tmp").exists() else []
    check(not tmp, f"partial files left in {md}/tmp: {[p.name for p in tmp]}")
    return sorted(p.read_bytes() for sub in ("new", "cur") if (md / sub).exists() for p in (md / sub).iterdir())


def lockstep_extra_reply(ctx, command: str, extra: str, command_line: list[str], tls: bool, split: bool):
    """--no-pipelining: the server answers `command` and then sends `extra`, a reply nobody
    asked for, in the same write (split=False) or in a write (a TLS record) of its own that
    arrives with it (split=True). Taken for the reply to the next command, it shifts every
    later reply by one (a RETR reply stored as the wrong message, +OK to DELE taken for +OK to
    QUIT). Required: 76 naming it, no QUIT after it (nothing deleted), every stored message an
    exact copy of one the server has."""
    msgs = [msg(f"ls{i}") for i in (1, 2, 3)]
    box = Pop3Mailbox(msgs, capa=["USER", "UIDL", "TOP", "PIPELINING"])
    verb = command.split()[0]
    reply = box.session()(command)
    reply = reply.encode() + b"\r\n" if isinstance(reply, str) else reply
    extra_b = extra.encode() + b"\r\n"
    rule = on(re.escape(command), corked(reply, extra_b) if split else reply + extra_b)
    kw = {"tls_context": certs(ctx).server_context("good"), "implicit_tls": True} if tls else {}
    md = ctx.scratch / "md"
    with ScriptedServer([rule], fallback=box, **kw) as srv:
        args = (pop3_args(srv, tls="implicit", host="localhost") + ["--cacert", certs(ctx).ca] if tls
                else pop3_args(srv))
        res = ctx.run(args + ["--no-pipelining"] + [a.replace("MD", str(md)) for a in command_line],
                      password=PASSWORD, stdin="")
        srv.settle()
    what = (f"--no-pipelining {command_line[0]}: {command} answered, then {extra!r} "
            f"({'its own write' if split else 'same write'}{', TLS' if tls else ''})")
    check(rule.used or srv.saw(re.escape(command)), f"{what}: the server never got {command}", res)
    expect_error(res, EX_PROTOCOL, OUT_OF_STEP, what)
    verbs = srv.verbs()
    after = verbs[verbs.index(verb) + 1:] if verb in verbs else []
    check("QUIT" not in after, f"{what}: QUIT was sent after the extra reply (server saw {verbs})", res)
    eq(box.committed_deletes, [], f"{what}: messages deleted on the server", res)
    foreign = [d[:80] for d in stored(md) if d not in msgs]
    eq(foreign, [], f"{what}: stored messages that are not exact copies of the server's", res)


FETCH_DELETE = ["fetch", "--delete", "-o", "maildir:MD"]
for _name, _cmd, _extra, _argv in (
        ("fetch_dele", "DELE 1", "+OK marked", FETCH_DELETE),
        ("fetch_retr", "RETR 1", "+OK", FETCH_DELETE),
        ("fetch_uidl", "UIDL", "+OK", FETCH_DELETE),
        ("fetch_user", "USER safety", "+OK", FETCH_DELETE),
        ("purge_dele", "DELE 1", "+OK marked", ["purge", "1-3", "--yes"]),
        ("purge_list", "LIST", "+OK", ["purge", "1-3", "--yes"])):
    for _tls in (False, True):
        for _split in (False, True):
            mw.add(f"lockstep_{_name}{'_tls' if _tls else ''}{'_split' if _split else ''}",
                   lockstep_extra_reply, _cmd, _extra, _argv, _tls, _split)


def smtp_lockstep_extra_reply(ctx, command: str, reply: str, extra: str, split: bool):
    """send --no-pipelining: the server answers `command` and then sends `extra`, which nobody
    asked for. Taken for the reply to the next command, it would make a refused recipient look
    accepted, or stand for the final reply to a message the server never got. Required: 76
    naming it, and no message data sent after it."""
    mailer = SmtpMailer(ehlo=["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"])
    rules = [on(command, corked(reply, extra) if split else f"{reply}\r\n{extra}")] + RCPT_RULES
    with smtp_server(rules, fallback=mailer) as srv:
        res = ctx.run(smtp_args(srv) + ["--no-pipelining", "send", "--from", "a@example.org", "--to", GONE,
                                        "--to", GOOD, "--subject", "x", "--body", "hello"])
        srv.settle()
    what = f"send --no-pipelining: {command!r} answered {reply!r}, then {extra!r} " \
           f"({'its own write' if split else 'same write'})"
    expect_error(res, EX_PROTOCOL, OUT_OF_STEP, what)
    eq([d for d in mailer.data if d], [], f"{what}: messages the server received", res)
    verbs = srv.verbs()
    eq(verbs.count("DATA") if command != "DATA" else 0, 0, f"{what}: DATA sent (server saw {verbs})", res)


for _name, _cmd, _reply, _extra in (
        ("ehlo", r"EHLO .*", smtp_reply(250, "fake.example", "8BITMIME").decode().rstrip("\r\n"), "250 ok"),
        ("mail", r"MAIL FROM:.*", "250 2.1.0 Ok", "250 2.1.0 Ok"),
        ("rcpt", r"RCPT TO:<gone@.*", "550 5.1.1 no such user", "250 2.1.5 Ok"),
        ("data", r"DATA", "354 go ahead", "250 2.0.0 Ok: queued as NOTHING")):
    for _split in (False, True):
        mw.add(f"smtp_lockstep_{_name}{'_split' if _split else ''}", smtp_lockstep_extra_reply,
               _cmd, _reply, _extra, _split)


@scenario
def smtp_lockstep_421_unasked(ctx):
    """RFC 5321 section 3.8: a server may send 421 unasked and close (shutting down, idle): that
    is no reply out of step but the end of the session: 75 (try later), nothing sent."""
    mailer = SmtpMailer(ehlo=["PIPELINING", "8BITMIME"])
    rules = [on(r"MAIL FROM:.*", corked("250 2.1.0 Ok", "421 4.3.2 shutting down"))]
    with smtp_server(rules, fallback=mailer) as srv:
        res = ctx.run(smtp_args(srv) + ["--no-pipelining"] + SEND)
        srv.settle()
    what = "send --no-pipelining: MAIL answered, then 421 unasked"
    expect_error(res, EX_TEMPFAIL, r"421.*shutting down", what)
    eq([v for v in srv.verbs() if v in ("RCPT", "DATA")], [], f"{what}: commands after the 421", res)


# =========================================================================== 19: NUL in send --raw

RAW_HEAD = "From: a@example.org\nTo: b@example.org\nSubject: nul\n"


def raw_nul(ctx, message: str, ehlo: list[str], line: int, column: int, dry_run: bool = False):
    """send --raw of a message with a NUL octet (RFC 5321 section 4.1.4 and RFC 6152 forbid it;
    only BODY=BINARYMIME would carry it, which mailwrench does not send): 65 naming the line,
    the octet in it and the offset in the input; nothing sent (no MAIL, no data)."""
    mailer = SmtpMailer(ehlo=ehlo)
    with smtp_server([], fallback=mailer) as srv:
        res = ctx.run(smtp_args(srv) + ["send", "--raw"] + (["--dry-run"] if dry_run else []), stdin=message)
        srv.settle()
    what = f"send --raw{' --dry-run' if dry_run else ''}, a NUL on line {line}, EHLO offers {ehlo}"
    offset = message.index("\0")
    expect_error(res, EX_DATAERR, rf"NUL.*line {line}\b.*octet {column}\b.*offset {offset}\b", what)
    bad = [v for v in srv.verbs() if v in ("MAIL", "RCPT", "DATA", "BDAT")]
    eq(bad, [], f"{what}: commands the server received", res)
    eq([d for d in mailer.data if d], [], f"{what}: messages the server received", res)
    if dry_run:
        eq(res.stdout, "", f"{what}: the message printed", res)


mw.add("raw_nul_in_body_no_8bitmime", raw_nul, RAW_HEAD + "\nfirst\nsec\0ond\n", ["PIPELINING"], 6, 4)
mw.add("raw_nul_in_body_8bitmime", raw_nul, RAW_HEAD + "\nfirst\nsec\0ond\n", ["PIPELINING", "8BITMIME"], 6, 4)
mw.add("raw_nul_in_body_chunking", raw_nul, RAW_HEAD + "\n\0\n",
       ["PIPELINING", "8BITMIME", "CHUNKING", "BINARYMIME"], 5, 1)
mw.add("raw_nul_in_header_crlf", raw_nul, RAW_HEAD.replace("\n", "\r\n") + "X-Bad: a\0b\r\n\r\nbody\r\n",
       ["8BITMIME"], 4, 9)
mw.add("raw_nul_dry_run", raw_nul, RAW_HEAD + "\nfirst\nsec\0ond\n", [], 6, 4, dry_run=True)


@scenario
def raw_without_nul_is_sent(ctx):
    """The same message without the NUL (and with other control octets) goes: exit 0."""
    mailer = SmtpMailer(ehlo=["PIPELINING"])
    with smtp_server([], fallback=mailer) as srv:
        res = ctx.run(smtp_args(srv) + ["send", "--raw"], stdin=RAW_HEAD + "\nfirst\nsec\x01ond\n")
        srv.settle()
    expect_ok(res, "send --raw without NUL")
    eq(len(mailer.data), 1, "messages the server received", res)
    check(b"sec\x01ond" in mailer.data[0], "the body the server received", res)


if __name__ == "__main__":
    sys.exit(mw.main())
