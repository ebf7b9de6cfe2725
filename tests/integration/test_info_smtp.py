#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`mailwrench info --smtp` (and `info --smtp --check`): what an SMTP server shows, as swaks and
`msmtp --serverinfo` do, against the real Postfix of postfix_fixture.py (submission with
STARTTLS and AUTH only after it, implicit TLS, a port without STARTTLS that offers AUTH in
clear) and scripted servers (tests/support) for a server that offers AUTH PLAIN before
STARTTLS and one that does not offer STARTTLS at all.

Exit codes as for POP3: 0 reported (with --check: nothing failed); 1 a certificate that fails
verification, a failed STARTTLS or a failed AUTH (with --check: any verdict "fail").
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, fail, scenario  # noqa: E402
from scripted_server import ScriptedServer, on, start_tls  # noqa: E402
from tls_certs import TestCerts  # noqa: E402


def setup(ctx) -> None:
    if "smtp_port" not in ctx.env or "send_users" not in ctx.env:
        raise mw.Skip("the Postfix fixture is not running ('integration: postfix_start' was skipped or failed)")
    known = {s for s, _ in mw._SECRETS}
    for name, u in ctx.env["send_users"].items():
        if u["password"] not in known:
            mw._SECRETS.append((u["password"], f"<password of {name}>"))
    mw._SECRETS.sort(key=lambda s: -len(s[0]))


def send_user(ctx) -> tuple[str, str]:
    """A send user of the fixture (info only authenticates: no mail goes to its mailbox)."""
    name = sorted(ctx.env["send_users"])[-1]
    return name, ctx.env["send_users"][name]["password"]


def postfix_args(ctx, mode: str) -> list[str]:
    e = ctx.env
    port, tls = {"starttls": (e["smtp_port"], "starttls"), "implicit": (e["smtps_port"], "implicit"),
                 "plain": (e["smtp_plain_port"], "none")}[mode]
    return ["--smtp", "-H", e["smtp_host"], "-p", str(port), "--tls", tls, "--cacert", e["ca"],
            "--timeout", "20"]


def info_json(ctx, args: list[str], code: int, what: str, **kw) -> tuple[dict, mw.Result]:
    res = ctx.run(["info", "--json"] + args, **kw)
    eq(res.rc, code, f"{what}: exit code", res)
    try:
        return res.json(), res
    except Exception:  # noqa: BLE001
        fail(f"{what}: stdout is not one JSON document", res)
        raise


def verdicts(doc: dict) -> dict[str, str]:
    return {v["check"]: v["status"] for v in doc.get("verdicts", [])}


def stages(doc: dict) -> list[str]:
    return [s["stage"] for s in doc["capabilities"]]


def no_secret(res: mw.Result, password: str, what: str) -> None:
    check(password not in res.stdout and password not in res.stderr, f"{what}: no password in the output", res)


# =========================================================================== the real Postfix

@scenario
def postfix_submission_starttls_with_auth(ctx):
    """Submission: EHLO before STARTTLS offers STARTTLS and no AUTH (smtpd_tls_auth_only), EHLO
    after it offers AUTH with the fixture's mechanisms and SIZE; the chain is verified; AUTH
    through SmtpSession succeeds."""
    setup(ctx)
    user, password = send_user(ctx)
    doc, res = info_json(ctx, postfix_args(ctx, "starttls") + ["-u", user], 0,
                         "info --smtp, submission", password=password)
    eq(doc["protocol"], "smtp", "protocol", res)
    eq(doc["port"], ctx.env["smtp_port"], "port", res)
    eq(doc["tls_mode"], "starttls", "tls_mode", res)
    check("ESMTP" in doc["greeting"], f"the 220 greeting is shown: {doc['greeting']!r}", res)
    eq(stages(doc), ["plain", "tls"], "EHLO stages", res)
    before, after = doc["capabilities"]
    eq((before["encrypted"], after["encrypted"]), (False, True), "encrypted", res)
    eq(before["starttls"], True, "STARTTLS offered before TLS", res)
    eq(before["auth"], [], "no AUTH before STARTTLS", res)
    eq(sorted(after["auth"]), sorted(m.upper() for m in ctx.env["smtp_mechanisms"]),
       "AUTH mechanisms after STARTTLS", res)
    eq(after["starttls"], False, "no STARTTLS once encrypted", res)
    check(isinstance(after["size"], int), f"SIZE limit read: {after['size']!r}", res)
    for key in ("pipelining", "8bitmime", "enhancedstatuscodes", "dsn"):
        eq(after[key], True, f"{key} offered (Postfix's defaults)", res)
    check(any(l.upper().startswith("SIZE") for l in after["lines"]), "the raw EHLO lines", res)
    tls = doc["tls"]
    check(tls["protocol"] in ("TLSv1.2", "TLSv1.3"), f"TLS protocol {tls['protocol']}", res)
    eq(tls["verified"], True, "the chain is verified against the fixture's CA", res)
    check(tls["chain"] and tls["chain"][0]["sha256"], "the chain with its SHA-256", res)
    eq(doc["login"]["result"], "ok", "AUTH", res)
    check(user in doc["login"]["detail"], "the user is named", res)
    check(doc["timing_ms"]["connect"] > 0 and doc["timing_ms"]["ehlo"] > 0, "timings", res)
    check("verdicts" not in doc, "no verdicts without --check", res)
    no_secret(res, password, "submission")


def legacy_tls_outcome(ctx, doc: dict, res: mw.Result) -> int:
    """The fixture's Postfix keeps its default smtpd_tls_protocols, which still accept TLS 1.1
    where this machine's OpenSSL allows it: then legacy-tls fails (and is the only fail), found
    through a second connection that offers only TLS 1.0/1.1 after STARTTLS. Returns the exit
    status --check must have."""
    v = verdicts(doc)
    eq(doc["legacy_tls"], v.get("legacy-tls") == "fail", "legacy_tls and its verdict agree", res)
    if doc["legacy_tls"]:
        reason = next(x["reason"] for x in doc["verdicts"] if x["check"] == "legacy-tls")
        check("TLSv1 accepted" in reason or "TLSv1.1 accepted" in reason,
              f"the accepted version is named: {reason!r}", res)
    fails = sorted(name for name, status in v.items() if status == "fail")
    check(fails in ([], ["legacy-tls"]), f"nothing else fails: {fails}", res)
    return 1 if doc["legacy_tls"] else 0


@scenario
def postfix_submission_check_passes(ctx):
    """--check on submission: STARTTLS offered, no password login and no AUTH before TLS, the
    certificate trusted and named: these pass; TLS below 1.2 is probed after STARTTLS (see
    legacy_tls_outcome), and decides the exit status; in plain text too."""
    setup(ctx)
    res = ctx.run(["info", "--json"] + postfix_args(ctx, "starttls") + ["--check"])
    doc = res.json()
    v = verdicts(doc)
    for name in ("starttls-offered", "password-before-tls", "auth-in-clear", "certificate-trust",
                 "certificate-name", "certificate-expiry"):
        eq(v.get(name), "pass", name, res)
    eq(res.rc, legacy_tls_outcome(ctx, doc, res), "exit code", res)
    code = res.rc
    check("stls-offered" not in v, "no POP3 verdict", res)
    eq(doc["login"]["result"], "skipped", "no user: no AUTH", res)
    res = ctx.run(["info"] + postfix_args(ctx, "starttls") + ["--check"])
    eq(res.rc, code, "plain --check: exit code", res)
    for text in ("SMTP server localhost port", "EHLO keywords before TLS:", "EHLO keywords after TLS:",
                 "STARTTLS:            yes", "pass  starttls-offered", "TLS session: TLSv1."):
        check(text in res.stdout, f"plain report has {text!r}", res)
    check("CAPA" not in res.stdout, "no CAPA in an SMTP report", res)


@scenario
def postfix_smtps_implicit(ctx):
    """SMTPS (implicit TLS): one EHLO stage, over TLS, AUTH offered and accepted."""
    setup(ctx)
    user, password = send_user(ctx)
    res = ctx.run(["info", "--json"] + postfix_args(ctx, "implicit") + ["-u", user, "--check"],
                  password=password)
    doc = res.json()
    eq(res.rc, legacy_tls_outcome(ctx, doc, res), "exit code", res)
    eq(stages(doc), ["tls"], "EHLO stages", res)
    eq(doc["capabilities"][0]["encrypted"], True, "encrypted", res)
    check(doc["capabilities"][0]["auth"], "AUTH offered over TLS", res)
    eq(doc["tls"]["verified"], True, "verified", res)
    v = verdicts(doc)
    eq(v.get("login"), "pass", "login verdict", res)
    check("starttls-offered" not in v and "password-before-tls" not in v,
          "implicit TLS has no before-TLS verdicts", res)
    no_secret(res, password, "SMTPS")


@scenario
def postfix_plain_port_auth_in_clear(ctx):
    """The port without STARTTLS that offers AUTH in clear: password-before-tls and
    starttls-offered fail (exit 1); with a user the password is not sent in clear."""
    setup(ctx)
    user, password = send_user(ctx)
    doc, res = info_json(ctx, postfix_args(ctx, "plain") + ["--check", "-u", user], 1,
                         "info --smtp --check, plain port", password=password)
    eq(stages(doc), ["plain"], "EHLO stages", res)
    eq(doc["tls"], None, "no TLS", res)
    check(doc["capabilities"][0]["auth"], "AUTH offered in clear", res)
    v = verdicts(doc)
    eq(v.get("password-before-tls"), "fail", "password-before-tls", res)
    eq(v.get("starttls-offered"), "fail", "starttls-offered", res)
    eq(v.get("login"), "fail", "AUTH refused in clear by mailwrench", res)
    no_secret(res, password, "plain port")


@scenario
def account_smtp_keys(ctx):
    """-a ACCOUNT: info reads the POP3 keys, info --smtp the smtp-* keys (smtp-port, smtp-tls,
    smtp-user), never the POP3 port or TLS mode."""
    setup(ctx)
    e = ctx.env
    user, password = send_user(ctx)
    cfg = ctx.file("config", f"[account both]\nhost = {e['host']}\nport = {e['pop3s_port']}\n"
                             f"tls = implicit\nsmtp-host = {e['smtp_host']}\nsmtp-port = {e['smtps_port']}\n"
                             f"smtp-tls = implicit\nsmtp-user = {user}\n")
    args = ["--config", str(cfg), "-a", "both", "--cacert", e["ca"], "--timeout", "20"]
    doc, res = info_json(ctx, args + ["--smtp"], 0, "info --smtp -a both", password=password)
    eq((doc["protocol"], doc["port"], doc["tls_mode"]), ("smtp", e["smtps_port"], "implicit"),
       "the smtp-* keys", res)
    eq(doc["login"]["result"], "ok", "AUTH as smtp-user", res)
    check(user in doc["login"]["detail"], "smtp-user named", res)
    no_secret(res, password, "account")
    doc, res = info_json(ctx, args, 0, "info -a both (POP3)")
    eq((doc["protocol"], doc["port"]), ("pop3", e["pop3s_port"]), "without --smtp: the POP3 keys", res)


# =========================================================================== scripted servers

def ehlo_reply(keywords: list[str]) -> str:
    lines = ["scripted.example greets you"] + keywords
    return "\r\n".join(("250-" if i < len(lines) - 1 else "250 ") + l for i, l in enumerate(lines)) + "\r\n"


@scenario
def scripted_auth_plain_before_starttls(ctx):
    """A server offering AUTH PLAIN (and CRAM-MD5) before STARTTLS: password-before-tls fails,
    auth-in-clear warns, starttls-offered passes; the keywords after STARTTLS are read from the
    second EHLO, and no AUTH is ever sent by info without a user."""
    certs = TestCerts(ctx.scratch / "certs")
    # The first EHLO (before STARTTLS) gets the first rule, every later one the second.
    rules = [on(r"EHLO .*", ehlo_reply(["AUTH PLAIN CRAM-MD5", "STARTTLS", "SIZE 1000", "8BITMIME"])),
             on(r"EHLO .*", ehlo_reply(["AUTH PLAIN CRAM-MD5", "SIZE 52428800", "CHUNKING", "SMTPUTF8"]),
                times=None),
             on(r"STARTTLS", "220 2.0.0 go ahead", start_tls(), times=None),
             on(r"QUIT", "221 bye", times=None)]
    with ScriptedServer(rules, greeting="220 scripted.example ESMTP scripted",
                        tls_context=certs.server_context("good")) as srv:
        doc, res = info_json(ctx, ["--smtp", "-H", "127.0.0.1", "-p", str(srv.port), "--tls", "starttls",
                                   "--cacert", certs.ca, "--timeout", "10", "--check"], 1,
                             "info --smtp --check, AUTH PLAIN before STARTTLS")
        srv.settle()
    v = verdicts(doc)
    eq(v.get("password-before-tls"), "fail", "password-before-tls", res)
    eq(v.get("auth-in-clear"), "warn", "auth-in-clear (CRAM-MD5)", res)
    eq(v.get("starttls-offered"), "pass", "starttls-offered", res)
    eq(v.get("certificate-trust"), "pass", "certificate-trust", res)
    eq(doc["greeting"], "scripted.example ESMTP scripted", "greeting", res)
    before, after = doc["capabilities"]
    eq((before["size"], after["size"]), (1000, 52428800), "SIZE before and after STARTTLS", res)
    eq((before["chunking"], after["chunking"]), (False, True), "CHUNKING", res)
    eq((before["smtputf8"], after["smtputf8"]), (False, True), "SMTPUTF8", res)
    eq(before["auth"], ["PLAIN", "CRAM-MD5"], "AUTH before STARTTLS", res)
    eq([l for l in srv.received if l.split(" ")[0].upper() == "AUTH"], [], "AUTH commands received", res)


@scenario
def scripted_no_starttls(ctx):
    """--tls starttls to a server that does not offer STARTTLS: starttls-offered fails, and
    with a user the AUTH is not attempted in clear (login fails); no AUTH reaches the server."""
    rules = [on(r"EHLO .*", ehlo_reply(["PIPELINING", "SIZE", "AUTH LOGIN"]), times=None),
             on(r"QUIT", "221 bye", times=None)]
    with ScriptedServer(rules, greeting="220 scripted.example ESMTP") as srv:
        doc, res = info_json(ctx, ["--smtp", "-H", "127.0.0.1", "-p", str(srv.port), "--tls", "starttls",
                                   "--timeout", "10", "-u", "someone", "--check"], 1,
                             "info --smtp --check, no STARTTLS",
                             password="not-sent-" + os.urandom(4).hex())
        srv.settle()
    v = verdicts(doc)
    eq(v.get("starttls-offered"), "fail", "starttls-offered", res)
    eq(v.get("password-before-tls"), "fail", "AUTH LOGIN in clear", res)
    eq(v.get("login"), "fail", "login", res)
    check("STARTTLS" in doc["login"]["detail"], f"the reason: {doc['login']['detail']!r}", res)
    eq(doc["capabilities"][0]["size"], 0, "SIZE without a number: no fixed limit", res)
    eq(doc["tls"], None, "no TLS", res)
    eq([l for l in srv.received if l.split(" ")[0].upper() == "AUTH"], [], "AUTH commands received", res)
    # Without --check the failed AUTH is exit 1 as well, and the plain report says why.
    with ScriptedServer(rules, greeting="220 scripted.example ESMTP") as srv:
        res = ctx.run(["info", "--smtp", "-H", "127.0.0.1", "-p", str(srv.port), "--tls", "starttls",
                       "--timeout", "10"])
    eq(res.rc, 0, "no user, no --check: reported, exit 0", res)
    check("SIZE:                no fixed limit" in res.stdout, "SIZE shown", res)


@scenario
def scripted_ehlo_refused(ctx):
    """A server that refuses EHLO (502) and takes HELO: the report says the EHLO was refused
    and shows no keywords (answered false), rather than ending with an error."""
    rules = [on(r"EHLO .*", "502 5.5.1 EHLO not implemented", times=None),
             on(r"HELO .*", "250 scripted.example", times=None),
             on(r"QUIT", "221 bye", times=None)]
    with ScriptedServer(rules, greeting="220 scripted.example SMTP") as srv:
        doc, res = info_json(ctx, ["--smtp", "-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none",
                                   "--timeout", "10"], 0, "info --smtp, EHLO refused")
        srv.settle()
        check(any(l.upper().startswith("HELO") for l in srv.received), "HELO after the refused EHLO", res)
    eq([(s["stage"], s["answered"], s["lines"]) for s in doc["capabilities"]], [("plain", False, [])],
       "one stage, not answered", res)
    with ScriptedServer(rules, greeting="220 scripted.example SMTP") as srv:
        res = ctx.run(["info", "--smtp", "-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none",
                       "--timeout", "10"])
    eq(res.rc, 0, "plain report: exit code", res)
    check("EHLO keywords before TLS: (EHLO refused)" in res.stdout, "the refusal is said", res)


if __name__ == "__main__":
    mw.main()
