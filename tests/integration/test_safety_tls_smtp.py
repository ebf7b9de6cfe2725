#!/usr/bin/env python3
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
from scripted_server import Pop3Mailbox, ScriptedServer, multiline, on, smtp_reply, start_tls  # noqa: E402
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
        check(srv.tls_connections == 1, f"{what}: no TLS session on the server side", res)
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


if __name__ == "__main__":
    sys.exit(mw.main())
