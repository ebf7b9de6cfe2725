#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Failures: exit code (sysexits) and one 'mailwrench: error: …' line on stderr naming the
problem. Authentication, certificates (untrusted, wrong host name, fingerprints, --insecure),
refused / unknown / silent servers, STLS not offered, plaintext refused, usage errors, a
message that does not exist, and the --json error document."""
import re
import sys
import time

import mwtest as mw
from mwtest import check, eq, expect_error, expect_ok, scenario

AUTH = r"auth|password|login|credential"
CERT = r"certificat|verif|trust"


@scenario
def wrong_password(ctx):
    res = ctx.run(ctx.conn() + ["stat"], password="wrong-secret")
    expect_error(res, 77, AUTH, "wrong password")


@scenario
def wrong_password_stls_user(ctx):
    res = ctx.run(ctx.conn("stls") + ["--auth", "user", "stat"], password="wrong-secret")
    expect_error(res, 77, AUTH, "wrong password with USER/PASS over STLS")


@scenario
def unknown_user(ctx):
    res = ctx.run(ctx.conn(user="nosuchuser") + ["stat"], password="whatever")
    expect_error(res, 77, AUTH, "unknown user")


@scenario
def untrusted_certificate_system_store(ctx):
    """No --cacert: the system store does not know the test CA."""
    res = ctx.run(ctx.conn(cacert=None) + ["stat"], user="alice")
    expect_error(res, 77, CERT, "server certificate from an unknown CA (system store)")


@scenario
def untrusted_certificate_other_ca(ctx):
    res = ctx.run(ctx.conn(cacert=ctx.env["other_ca"]) + ["stat"], user="alice")
    expect_error(res, 77, CERT, "--cacert of an unrelated CA")


@scenario
def untrusted_certificate_stls(ctx):
    res = ctx.run(ctx.conn("stls", cacert=ctx.env["other_ca"]) + ["stat"], user="alice")
    expect_error(res, 77, CERT, "STLS with --cacert of an unrelated CA")


@scenario
def wrong_host_name(ctx):
    res = ctx.run(ctx.conn(host=ctx.env["wrong_ip"]) + ["stat"], user="alice")
    expect_error(res, 77, r"host ?name|does not match|mismatch|127\.0\.0\.2",
                 f"-H {ctx.env['wrong_ip']} (not in the certificate) with the right CA")


@scenario
def wrong_host_name_stls(ctx):
    res = ctx.run(ctx.conn("stls", host=ctx.env["wrong_ip"]) + ["-v", "stat"], user="alice")
    expect_error_v(res, 77, r"host ?name|does not match|mismatch|127\.0\.0\.2",
                   f"STLS to {ctx.env['wrong_ip']} (not in the certificate)")
    eq(login_lines(res), [], "login commands in the -v transcript after a failed STLS handshake", res)


def login_lines(res):
    """Transcript lines that carry a login command with an argument (CAPA's bare "USER" and
    "SASL …" lines do not count)."""
    return [l for l in res.stderr_lines
            if not l.startswith("mailwrench: error:") and re.search(r"\b(USER|PASS|AUTH|APOP)\s+\S", l)
            and not re.search(r"\bSASL\b", l)]


def expect_error_v(res, code, pattern, what):
    """Like expect_error, for a -v run: the transcript may precede the one error line, which is last."""
    codes = code if isinstance(code, tuple) else (code,)
    check(res.rc in codes, f"{what}: exit code {res.rc}, expected {' or '.join(map(str, codes))}", res)
    errs = [l for l in res.stderr_lines if l.startswith("mailwrench: error:")]
    check(len(errs) == 1 and res.stderr_lines[-1] == errs[0],
          f"{what}: stderr must end with exactly one 'mailwrench: error: ...' line", res)
    check(re.search(pattern, errs[0], re.I), f"{what}: the error does not name the problem (/{pattern}/i)", res)


@scenario
def fingerprint_of_another_certificate(ctx):
    res = ctx.run(ctx.conn(cacert=None) + ["--fingerprint", ctx.env["other_fingerprint_sha256"], "stat"],
                  user="alice")
    expect_error(res, 77, r"fingerprint", "--fingerprint of a different certificate")


@scenario
def fingerprint_right_without_cacert(ctx):
    res = ctx.run(ctx.conn(cacert=None) + ["--fingerprint", ctx.env["server_fingerprint_sha256"], "--json", "stat"],
                  user="alice")
    ctx.expect_stat_json(res, what="--fingerprint of the server certificate, no --cacert")


@scenario
def fingerprint_without_colons_lowercase(ctx):
    fp = ctx.env["server_fingerprint_sha256"].replace(":", "").lower()
    res = ctx.run(ctx.conn(cacert=None) + ["--fingerprint", fp, "--json", "stat"], user="alice")
    ctx.expect_stat_json(res, what="--fingerprint as lowercase hex without colons")


@scenario
def fingerprint_stls(ctx):
    res = ctx.run(ctx.conn("stls", cacert=None) + ["--fingerprint", ctx.env["server_fingerprint_sha256"],
                                                  "--json", "stat"], user="alice")
    ctx.expect_stat_json(res, what="STLS with --fingerprint, no --cacert")


@scenario
def insecure_works_with_a_warning(ctx):
    res = ctx.run(ctx.conn(cacert=None) + ["--insecure", "--json", "stat"], user="alice")
    ctx.expect_stat_json(res, what="--insecure without --cacert")
    check(re.search(r"warning|insecure|not verified|unverified", res.stderr, re.I),
          "--insecure must print a warning on stderr", res)


@scenario
def insecure_wrong_host(ctx):
    res = ctx.run(ctx.conn(host=ctx.env["wrong_ip"], cacert=ctx.env["other_ca"]) + ["--insecure", "stat"],
                  user="alice")
    ctx.expect_stat(res, what="--insecure skips CA and host name checks")
    check(res.stderr.strip(), "--insecure must print a warning on stderr", res)


@scenario
def connection_refused(ctx):
    port = mw.closed_port()
    res = ctx.run(["-H", "127.0.0.1", "-p", str(port), "--tls", "implicit", "--cacert", ctx.env["ca"],
                   "-u", "alice", "--timeout", "10", "stat"], user="alice")
    expect_error(res, 69, r"refused", "connection refused on a closed port")


@scenario
def unknown_host(ctx):
    res = ctx.run(["-H", "no-such-host.invalid", "-u", "alice", "--timeout", "5", "stat"], user="alice", timeout=30)
    expect_error(res, 68, r"no-such-host\.invalid", "unknown host")
    check(res.elapsed < 5 + 2, f"unknown host: took {res.elapsed:.1f} s, more than --timeout 5", res)


@scenario
def silent_server_times_out(ctx):
    with mw.FakeServer("silent") as srv:
        res = ctx.run(["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
                       "-u", "alice", "--timeout", "2", "stat"], user="alice", timeout=30)
    expect_error(res, 75, r"time(d)? ?out", "a server that accepts and never answers, --timeout 2")
    check(1.5 <= res.elapsed <= 5, f"--timeout 2 should end it after ~2 s, took {res.elapsed:.1f} s", res)


@scenario
def silent_server_times_out_tls(ctx):
    """Implicit TLS: the handshake itself never completes."""
    with mw.FakeServer("silent") as srv:
        res = ctx.run(["-H", "localhost", "-p", str(srv.port), "--tls", "implicit", "--cacert", ctx.env["ca"],
                       "-u", "alice", "--timeout", "2", "stat"], user="alice", timeout=30)
    expect_error(res, 75, r"time(d)? ?out", "a TLS server that never answers the handshake, --timeout 2")
    check(1.5 <= res.elapsed <= 5, f"--timeout 2 should end it after ~2 s, took {res.elapsed:.1f} s", res)


@scenario
def stls_not_offered(ctx):
    with mw.FakeServer("pop3", capa_lines=["TOP", "UIDL", "USER", "SASL PLAIN LOGIN", "PIPELINING"]) as srv:
        res = ctx.run(["-H", "localhost", "-p", str(srv.port), "--tls", "starttls", "--cacert", ctx.env["ca"],
                       "-u", "alice", "--timeout", "10", "stat"], user="alice")
        verbs = srv.verbs()
    leaked = [v for v in verbs if v in ("USER", "PASS", "AUTH", "APOP")]
    eq(leaked, [], "commands the client sent that it must not send without TLS "
                   f"(all it sent: {verbs})", res)
    expect_error(res, (77, 69), r"STLS|STARTTLS|TLS", "--tls starttls against a server whose CAPA lacks STLS")


@scenario
def plaintext_refused(ctx):
    """--tls none without --allow-plaintext: refuse before sending the password."""
    res = ctx.run(ctx.conn("plain") + ["-v", "stat"], user="alice")
    expect_error_v(res, 77, r"plain ?text|clear ?text|unencrypted|allow-plaintext|--tls",
                   "--tls none without --allow-plaintext against Dovecot")
    eq([l for l in login_lines(res) if not re.search(r"\bUSER\b", l)], [],
       "PASS/AUTH/APOP lines in the -v transcript: no password may be sent", res)


@scenario
def plaintext_refused_fake_server(ctx):
    with mw.FakeServer("pop3", capa_lines=["TOP", "UIDL", "USER", "SASL PLAIN LOGIN"]) as srv:
        res = ctx.run(["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "-u", "alice", "--timeout", "10",
                       "stat"], user="alice")
        verbs = srv.verbs()
    eq([v for v in verbs if v in ("PASS", "AUTH", "APOP")], [],
       f"login commands the server received (all it received: {verbs})", res)
    expect_error(res, 77, r"plain ?text|clear ?text|unencrypted|allow-plaintext|--tls",
                 "--tls none without --allow-plaintext")


@scenario
def plaintext_allowed(ctx):
    res = ctx.run(ctx.conn("plain") + ["--allow-plaintext", "--json", "stat"], user="alice")
    ctx.expect_stat_json(res, what="--tls none --allow-plaintext")


@scenario
def bad_option(ctx):
    res = ctx.run(ctx.conn() + ["--no-such-option", "stat"], user="alice")
    expect_error(res, 64, r"no-such-option", "an unknown option")


@scenario
def bad_tls_value(ctx):
    res = ctx.run(ctx.conn() + ["--tls", "sometimes", "stat"], user="alice")
    expect_error(res, 64, r"sometimes|--tls|tls", "--tls with an invalid value")


@scenario
def unknown_command(ctx):
    res = ctx.run(ctx.conn() + ["frobnicate"], user="alice")
    expect_error(res, 64, r"frobnicate", "an unknown command")


@scenario
def top_without_message_number(ctx):
    res = ctx.run(ctx.conn() + ["top"], user="alice")
    expect_error(res, 64, r"selection|message|--all", "top without a selection")


@scenario
def top_of_a_message_that_does_not_exist(ctx):
    res = ctx.run(ctx.conn() + ["top", "999"], user="alice")
    expect_error(res, 65, r"999", "top 999")
    check("does not exist" in res.stderr, "top 999: the message should say 'does not exist'", res)


@scenario
def json_error_document_auth(ctx):
    res = ctx.run(ctx.conn() + ["--json", "stat"], password="wrong-secret")
    check(res.rc == 77, f"--json with a wrong password: exit code {res.rc}, expected 77", res)
    doc = res.json()
    err = doc.get("error") if isinstance(doc, dict) else None
    check(isinstance(err, dict), 'stdout must be {"error": {...}}', res)
    eq(err.get("exit_code"), 77, "error.exit_code", res)
    check(isinstance(err.get("kind"), str) and err["kind"], "error.kind is a non-empty string", res)
    check(isinstance(err.get("message"), str) and re.search(AUTH, err["message"], re.I),
          "error.message names the problem", res)


@scenario
def json_error_document_top(ctx):
    res = ctx.run(ctx.conn() + ["--json", "top", "999"], user="alice")
    check(res.rc == 65, f"--json top 999: exit code {res.rc}, expected 65", res)
    err = res.json().get("error", {})
    eq(err.get("exit_code"), 65, "error.exit_code", res)
    check(isinstance(err.get("kind"), str) and err["kind"], "error.kind is a non-empty string", res)
    check("999" in err.get("message", "") and "does not exist" in err.get("message", ""),
          "error.message names message 999 and says it does not exist", res)


@scenario
def json_error_document_refused(ctx):
    port = mw.closed_port()
    res = ctx.run(["-H", "127.0.0.1", "-p", str(port), "--tls", "implicit", "-u", "alice", "--json", "stat"],
                  user="alice")
    check(res.rc == 69, f"--json connection refused: exit code {res.rc}, expected 69", res)
    err = res.json().get("error", {})
    eq(err.get("exit_code"), 69, "error.exit_code", res)


if __name__ == "__main__":
    sys.exit(mw.main())
