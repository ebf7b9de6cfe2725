#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`mailwrench info` (and `info --check`): what a POP3 server shows, as the telnet guides check
by hand, against the real Dovecot (POP3S, STLS, plain) and scripted servers (tests/support) for
what Dovecot does not do: USER before TLS without STLS, a certificate that expires soon, a
server that still accepts TLS 1.0/1.1, a hostile greeting.

Exit codes: 0 reported (and, with --check, nothing failed); 1 a certificate that fails
verification or a failed login (with --check: any verdict "fail").
"""
from __future__ import annotations

import datetime as dt
import os
import ssl
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_ok, fail, scenario  # noqa: E402
from scripted_server import ScriptedServer, multiline, on  # noqa: E402
from tls_certs import LOCAL_SAN, TestCerts  # noqa: E402


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


def fixture_fingerprint(ctx) -> str:
    return ctx.env["server_fingerprint_sha256"].upper()


# =========================================================================== the real Dovecot

@scenario
def pop3s_with_login(ctx):
    """POP3S with alice's credentials: the TLS session, the verified chain with the fixture's
    certificate (its SHA-256 as openssl prints it), CAPA over TLS and after login."""
    doc, res = info_json(ctx, ctx.conn("pop3s"), 0, "info over POP3S", user="alice")
    eq(doc["protocol"], "pop3", "protocol", res)
    check("POP3 ready" in doc["greeting"], "the greeting (its text after +OK) is shown", res)
    tls = doc["tls"]
    check(tls["protocol"] in ("TLSv1.2", "TLSv1.3"), f"TLS protocol {tls['protocol']}", res)
    check(tls["cipher"], "a cipher is named", res)
    eq(tls["verified"], True, "the chain is verified against the fixture's CA", res)
    eq(tls["problems"], [], "verification problems", res)
    leaf = tls["chain"][0]
    eq(leaf["sha256"], fixture_fingerprint(ctx), "the server certificate's SHA-256", res)
    check("DNS:localhost" in leaf["names"] and "IP:127.0.0.1" in leaf["names"],
          f"subjectAltName of the fixture certificate: {leaf['names']}", res)
    check(leaf["key_type"] and leaf["key_bits"] >= 2048, "key type and bits", res)
    check(leaf["days_left"] > 0 and leaf["not_after"].endswith("Z"), "validity", res)
    eq(stages(doc), ["tls", "login"], "CAPA stages", res)
    eq(doc["capabilities"][0]["encrypted"], True, "CAPA before login is over TLS", res)
    check(doc["capabilities"][0]["user"] and doc["capabilities"][0]["uidl"]
          and doc["capabilities"][0]["top"], "USER, UIDL and TOP offered", res)
    check("PLAIN" in doc["capabilities"][0]["sasl"], "SASL PLAIN offered over TLS", res)
    eq(doc["login"]["result"], "ok", "login", res)
    check(doc["timing_ms"]["connect"] > 0 and doc["timing_ms"]["greeting"] >= 0, "timings", res)
    check("verdicts" not in doc, "no verdicts without --check", res)


@scenario
def pop3s_plain_output(ctx):
    """The plain report reads like mpop --serverinfo: TLS session, certificate, capabilities."""
    res = ctx.run(["info"] + ctx.conn("pop3s", user=None))
    expect_ok(res, "info over POP3S without a user")
    for text in ("TLS session: TLSv1.", "verification: OK", "certificate 0 (the server's):",
                 "SHA-256:     " + fixture_fingerprint(ctx), "capabilities after TLS:",
                 "SASL mechanisms:", "login: skipped (no user given"):
        check(text in res.stdout, f"the report says {text!r}", res)
    check("capabilities after login:" not in res.stdout, "no login without a user", res)


@scenario
def stls_before_and_after(ctx):
    """--tls starttls: CAPA before STLS (in clear), after it, and after login."""
    doc, res = info_json(ctx, ctx.conn("stls"), 0, "info with STLS", user="alice")
    eq(stages(doc), ["plain", "tls", "login"], "CAPA stages", res)
    eq(doc["capabilities"][0]["encrypted"], False, "the first CAPA is in clear", res)
    eq(doc["capabilities"][0]["stls"], True, "STLS offered in clear", res)
    eq(doc["tls"]["verified"], True, "verified after STLS", res)


@scenario
def plain_port_check(ctx):
    """--tls none --check on Dovecot's POP3 port (disable_plaintext_auth = no in the fixture):
    USER offered in clear fails, STLS is offered, nothing TLS to judge; exit 1. No user: no
    password goes anywhere."""
    doc, res = info_json(ctx, ctx.conn("plain", user=None) + ["--check"], 1, "info --check, plain")
    v = verdicts(doc)
    eq(v.get("password-before-tls"), "fail", "USER/PLAIN before TLS", res)
    eq(v.get("stls-offered"), "pass", "STLS is offered", res)
    check(not any(k.startswith("certificate") for k in v), f"no certificate verdicts: {v}", res)
    eq(doc["tls"], None, "no TLS session", res)


@scenario
def pop3s_check_passes(ctx):
    """--check over POP3S with the fixture's CA: nothing fails (the fixture's certificate is
    valid for weeks; Dovecot refuses TLS below 1.2: ssl_min_protocol = TLSv1.2); exit 0."""
    doc, res = info_json(ctx, ctx.conn("pop3s") + ["--check"], 0, "info --check, POP3S", user="alice")
    v = verdicts(doc)
    for name in ("certificate-name", "certificate-trust", "legacy-tls", "login"):
        eq(v.get(name), "pass", f"verdict {name}", res)
    eq(doc["legacy_tls"], False, "TLS 1.0/1.1 refused by Dovecot", res)


@scenario
def quiet_check_for_cron(ctx):
    """-q --check prints nothing when nothing fails (cron), and the report when something does."""
    res = ctx.run(["-q", "info", "--check"] + ctx.conn("pop3s", user=None))
    expect_ok(res, "info --check -q of a sound POP3S server")
    eq((res.stdout, res.stderr), ("", ""), "output of a quiet check that passes", res)
    res = ctx.run(["-q", "info", "--check"] + ctx.conn("pop3s", user=None, host="127.0.0.2"))
    eq(res.rc, 1, "exit code of a quiet check that fails", res)
    check("fail  certificate-name:" in res.stdout, "the failing verdict is shown", res)


@scenario
def wrong_host_reported(ctx):
    """127.0.0.2 is not in the certificate: the chain is still reported, the name mismatch is
    the reason, exit 1, and the login does not happen (no password to a wrong name)."""
    doc, res = info_json(ctx, ctx.conn("pop3s", host="127.0.0.2") + ["--check"], 1,
                         "info, wrong host name", user="alice")
    eq(doc["tls"]["verified"], False, "verification", res)
    eq(doc["tls"]["name_matches"], False, "name_matches", res)
    eq(doc["tls"]["chain"][0]["sha256"], fixture_fingerprint(ctx), "the chain is still shown", res)
    v = verdicts(doc)
    eq(v.get("certificate-name"), "fail", "certificate-name", res)
    eq(v.get("certificate-trust"), "pass", "certificate-trust (the CA is trusted)", res)
    eq(doc["login"]["result"], "failed", "login to a wrong name", res)
    check("does not match" in doc["login"]["detail"], "why the login failed", res)


@scenario
def untrusted_chain_reported(ctx):
    """Without --cacert the fixture's private CA is unknown to the system store: reported (plain
    text: FAILED and the reason), exit 1, not an error."""
    res = ctx.run(["info"] + ctx.conn("pop3s", user=None, cacert=None))
    eq(res.rc, 1, "exit code for an untrusted chain", res)
    check("verification: FAILED" in res.stdout, "FAILED is reported", res)
    check("local issuer" in res.stdout or "self-signed" in res.stdout, "the reason", res)
    eq(res.stderr, "", "stderr", res)


# =========================================================================== scripted servers

CAPA_USER_NO_STLS = multiline("+OK", ["USER", "SASL PLAIN CRAM-MD5", "UIDL", "TOP",
                                      "IMPLEMENTATION scripted-pop3", "EXPIRE 30", "LOGIN-DELAY 900"])


@scenario
def scripted_user_before_tls_no_stls(ctx):
    """A plain server offering USER and AUTH PLAIN before TLS and no STLS: password-before-tls
    and stls-offered fail, AUTH CRAM-MD5 in clear warns; EXPIRE and LOGIN-DELAY are read; with
    a user given the login is still refused in clear: no USER or PASS reaches the server."""
    with ScriptedServer([on(r"CAPA", CAPA_USER_NO_STLS, times=None), on(r"QUIT", "+OK bye", times=None)]) as srv:
        doc, res = info_json(ctx, ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none",
                                   "-u", "someone", "--check"], 1, "info --check, USER without STLS",
                             password="not-sent-" + os.urandom(4).hex())
        srv.settle()
        v = verdicts(doc)
        eq(v.get("password-before-tls"), "fail", "password-before-tls", res)
        eq(v.get("stls-offered"), "fail", "stls-offered", res)
        eq(v.get("auth-in-clear"), "warn", "auth-in-clear", res)
        eq(v.get("login"), "fail", "login refused in clear", res)
        caps = doc["capabilities"][0]
        eq((caps["expire"], caps["login_delay"], caps["implementation"]),
           ("30", "900", "scripted-pop3"), "EXPIRE, LOGIN-DELAY, IMPLEMENTATION", res)
        eq([l for l in srv.received if l.split(" ")[0].upper() in ("USER", "PASS", "AUTH")], [],
           "login commands the server received", res)


@scenario
def scripted_stls_refused(ctx):
    """CAPA lists STLS but STLS is refused: the report says so (exit 1; --check: stls-offered
    fails), instead of ending with an error and no report."""
    capa = multiline("+OK", ["STLS", "UIDL", "TOP", "USER"])
    with ScriptedServer([on(r"CAPA", capa, times=None), on(r"STLS", "-ERR [SYS/TEMP] not now"),
                         on(r"QUIT", "+OK", times=None)]) as srv:
        doc, res = info_json(ctx, ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "starttls",
                                   "--check"], 1, "info --check, STLS refused")
        check("not now" in (doc["tls_error"] or ""), "the refusal is reported", res)
        v = verdicts(doc)
        eq(v.get("stls-offered"), "fail", "stls-offered", res)
        eq(v.get("password-before-tls"), "fail", "USER before TLS", res)
        eq(doc["tls"], None, "no TLS session", res)


@scenario
def pinned_self_signed(ctx):
    """--fingerprint of a self-signed certificate: the pin matches (certificate-pin pass), the
    untrusted chain is a warning, exit 0; another pin fails."""
    certs = TestCerts(ctx.scratch / "certs")
    good_pin = certs.fingerprint("self_signed")
    capa = multiline("+OK", ["SASL PLAIN", "UIDL", "TOP"])
    for pin, code, status in ((good_pin, 0, "pass"), ("00" * 32, 1, "fail")):
        context = certs.server_context("self_signed")
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # so that legacy-tls passes
        with ScriptedServer([on(r"CAPA", capa, times=None), on(r"QUIT", "+OK", times=None)],
                            tls_context=context, implicit_tls=True) as srv:
            doc, res = info_json(ctx, ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "implicit",
                                       "--cacert", certs.ca, "--fingerprint", pin, "--check"], code,
                                 f"info --check --fingerprint ({status})")
            v = verdicts(doc)
            eq(v.get("certificate-pin"), status, "certificate-pin", res)
            eq(v.get("certificate-trust"), "warn" if status == "pass" else "fail", "certificate-trust", res)
            res = ctx.run(["info", "-H", "127.0.0.1", "-p", str(srv.port), "--tls", "implicit",
                           "--cacert", certs.ca, "--fingerprint", pin])
            eq(res.rc, code, "exit code without --check", res)


@scenario
def scripted_hostile_greeting(ctx):
    """A greeting with terminal escapes is shown made safe (no ESC reaches the terminal)."""
    with ScriptedServer([on(r"CAPA", "-ERR no", times=None), on(r"QUIT", "+OK", times=None)],
                        greeting="+OK \x1b]0;owned\x07 ready\x1b[2J") as srv:
        res = ctx.run(["info", "-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none"])
        expect_ok(res, "info of a server with a hostile greeting")
        check("\x1b" not in res.stdout and "\x07" not in res.stdout, "no raw escapes", res)
        check("greeting: \\x1b]0;owned\\x07 ready\\x1b[2J\n" in res.stdout, "the greeting, made visible", res)
        check("(CAPA refused)" in res.stdout, "a refused CAPA is said", res)


def expiring_context(ctx, days: int) -> tuple[TestCerts, ssl.SSLContext]:
    certs = TestCerts(ctx.scratch / "certs")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    name = f"soon{days}"
    certs._signed(name, 2048, LOCAL_SAN, now - dt.timedelta(days=1), now + dt.timedelta(days=days, hours=1))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # so that legacy-tls passes
    context.load_cert_chain(str(certs.dir / f"{name}.pem"), str(certs.dir / f"{name}.key"))
    return certs, context


def scripted_tls(ctx, context: ssl.SSLContext, certs: TestCerts, code: int, what: str) -> tuple[dict, mw.Result]:
    capa = multiline("+OK", ["SASL PLAIN", "UIDL", "TOP"])
    with ScriptedServer([on(r"CAPA", capa, times=None), on(r"QUIT", "+OK", times=None)],
                        tls_context=context, implicit_tls=True) as srv:
        return info_json(ctx, ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "implicit",
                               "--cacert", certs.ca, "--check", "--timeout", "10"], code, what)


@scenario
def scripted_expires_in_20_days_warns(ctx):
    certs, context = expiring_context(ctx, 20)
    doc, res = scripted_tls(ctx, context, certs, 0, "a certificate expiring in 20 days")
    eq(verdicts(doc).get("certificate-expiry"), "warn", "certificate-expiry", res)
    eq(doc["tls"]["chain"][0]["days_left"], 20, "days left", res)


@scenario
def scripted_expires_in_3_days_fails(ctx):
    certs, context = expiring_context(ctx, 3)
    doc, res = scripted_tls(ctx, context, certs, 1, "a certificate expiring in 3 days")
    eq(verdicts(doc).get("certificate-expiry"), "fail", "certificate-expiry", res)


@scenario
def scripted_self_signed_reported(ctx):
    """A self-signed certificate is reported (subject, issuer, fingerprint), not an error."""
    certs = TestCerts(ctx.scratch / "certs")
    doc, res = scripted_tls(ctx, certs.server_context("self_signed"), certs, 1, "a self-signed certificate")
    eq(verdicts(doc).get("certificate-trust"), "fail", "certificate-trust", res)
    check("self-signed" in " ".join(p["reason"] for p in doc["tls"]["problems"]), "the reason", res)
    eq(doc["tls"]["chain"][0]["sha256"], certs.fingerprint("self_signed"), "the fingerprint", res)


@scenario
def scripted_weak_certificates_reported(ctx):
    """An RSA-1024 key and a SHA-1 signature are reported (key bits, signature algorithm, the
    reason), not refused: certificate-trust fails."""
    certs = TestCerts(ctx.scratch / "certs")
    for kind, fact in (("weak_key", ("key_bits", 1024)), ("sha1_sig", ("signature_algorithm", "sha1WithRSAEncryption"))):
        doc, res = scripted_tls(ctx, certs.server_context(kind), certs, 1, f"a {kind} certificate")
        eq(doc["tls"]["chain"][0][fact[0]], fact[1], f"{kind}: {fact[0]}", res)
        eq(verdicts(doc).get("certificate-trust"), "fail", f"{kind}: certificate-trust", res)
        check(doc["tls"]["problems"], f"{kind}: a reason is given", res)


@scenario
def scripted_legacy_tls_accepted(ctx):
    """A server that still accepts TLS 1.0/1.1: the probe (--check) finds it: legacy-tls fails."""
    certs = TestCerts(ctx.scratch / "certs")
    context = certs.server_context("good")
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
    except (ValueError, ssl.SSLError):
        raise mw.Skip("this Python/OpenSSL cannot serve TLS 1.0")
    doc, res = scripted_tls(ctx, context, certs, 1, "a server accepting TLS 1.0/1.1")
    eq(doc["legacy_tls"], True, "legacy TLS accepted", res)
    eq(verdicts(doc).get("legacy-tls"), "fail", "legacy-tls", res)
    reason = next(v["reason"] for v in doc["verdicts"] if v["check"] == "legacy-tls")
    check(reason.startswith(("TLSv1 ", "TLSv1.1 ")), f"the protocol accepted: {reason}", res)


if __name__ == "__main__":
    sys.exit(mw.main())
