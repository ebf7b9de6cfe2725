#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 17, item 4: networks people actually have. IPv6 literal hosts ("::1", "[::1]",
"[::1]:PORT") against the Dovecot fixture on ::1, --source-address, TLS client certificates
(a second Dovecot that requires one, and an SMTP server that does), and SOCKS5 proxies
(tests/support/socks5_server.py, which records what each CONNECT asked for) for POP3 and SMTP.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import mwtest as mw
from mwtest import check, eq, expect_error, expect_ok, scenario
import dovecot_fixture as dv
from scripted_server import ScriptedServer
from sasl_server import SmtpMailer
from socks5_server import Socks5Server

EX_USAGE, EX_NOHOST, EX_UNAVAILABLE, EX_TEMPFAIL, EX_PROTOCOL, EX_NOPERM, EX_CONFIG = (
    64, 68, 69, 75, 76, 77, 78)
SEND = ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "net",
        "--body", "hello"]


def need_ip6(ctx) -> str:
    ip6 = ctx.env.get("ip6")
    if not ip6:
        raise mw.Skip("this machine has no IPv6 loopback address (ip -6 addr)")
    return ip6


def stat_ok(ctx, res, what: str) -> None:
    expect_ok(res, what)
    ctx.expect_stat(res, "alice", what)


def tls_args(ctx, host: str, port: str | None = None) -> list[str]:
    args = ["-H", host, "--tls", "implicit", "--cacert", ctx.env["ca"], "-u", "alice",
            "--timeout", "20"]
    if port is not None:
        args += ["-p", port]
    return args


# --------------------------------------------------------------------------- (a) IPv6 literals

@scenario
def ipv6_literal_host(ctx):
    """-H ::1 and -H [::1] reach the Dovecot fixture on ::1 over implicit TLS; the certificate is
    checked against its IP address ::1 (the certificate names DNS:localhost, IP:127.0.0.1 and
    IP:::1), and -v names the peer [::1]:PORT."""
    need_ip6(ctx)
    port = str(ctx.env["pop3s_port"])
    for host in ("::1", "[::1]"):
        res = ctx.run(tls_args(ctx, host, port) + ["-vv", "stat"], user="alice")
        stat_ok(ctx, res, f"stat -H {host}")
        check(f"[::1]:{port}" in res.stderr, f"-H {host}: the debug log does not name the peer "
              f"[::1]:{port}", res)


@scenario
def ipv6_host_with_port(ctx):
    """-H [::1]:PORT takes the port from the host (no -p), and so does a config file's
    'host = [::1]:PORT'; -H localhost:PORT as well; the same port given again with -p is
    accepted, a different one is a usage error (64)."""
    need_ip6(ctx)
    port = str(ctx.env["pop3s_port"])
    res = ctx.run(tls_args(ctx, f"[::1]:{port}") + ["stat"], user="alice")
    stat_ok(ctx, res, "stat -H [::1]:PORT")
    res = ctx.run(tls_args(ctx, f"localhost:{port}") + ["stat"], user="alice")
    stat_ok(ctx, res, "stat -H localhost:PORT")
    res = ctx.run(tls_args(ctx, f"[::1]:{port}", port) + ["stat"], user="alice")
    stat_ok(ctx, res, "stat -H [::1]:PORT -p PORT")
    cfg = ctx.file("v6.conf", f"[account v6]\nhost = [::1]:{port}\ncacert = {ctx.env['ca']}\n"
                              "user = alice\n")
    res = ctx.run(["--config", str(cfg), "-a", "v6", "stat"], user="alice")
    stat_ok(ctx, res, "stat with host = [::1]:PORT in the config file")
    res = ctx.run(tls_args(ctx, f"[::1]:{port}", "110") + ["stat"], user="alice")
    expect_error(res, EX_USAGE, r"port", "-H [::1]:PORT -p 110")
    res = ctx.run(tls_args(ctx, "[localhost]:995") + ["stat"], user="alice")
    expect_error(res, EX_USAGE, r"IPv6", "-H [localhost]:995")


@scenario
def ipv6_starttls(ctx):
    """STLS on the POP3 port at ::1: the upgraded session checks the IP address too."""
    need_ip6(ctx)
    res = ctx.run(["-H", "::1", "-p", str(ctx.env["pop3_port"]), "--tls", "starttls", "--cacert",
                   ctx.env["ca"], "-u", "alice", "stat"], user="alice")
    stat_ok(ctx, res, "stat -H ::1 --tls starttls")


# --------------------------------------------------------------------------- (b) --source-address

def login_rip(ctx, user: str) -> list[str]:
    """The remote addresses Dovecot logged for the logins of `user`."""
    text = Path(ctx.env["dovecot_log"]).read_text(errors="replace")
    return re.findall(r"Login: user=<" + re.escape(user) + r">.*?rip=([0-9a-f.:]+)", text)


@scenario
def source_address_is_used(ctx):
    """--source-address 127.0.0.2 to the server at 127.0.0.1: Dovecot logs the login from
    127.0.0.2 (a fresh user, so the log line is this run's)."""
    box = ctx.mailbox([mw.message("<net-src@mailwrench.test>")], tag="src")
    before = len(login_rip(ctx, box.user))  # the fixture's own logins, from 127.0.0.1
    res = box.run(["--source-address", "127.0.0.2", "stat"])
    expect_ok(res, "stat --source-address 127.0.0.2")
    deadline = time.monotonic() + 5
    while len(login_rip(ctx, box.user)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    eq(login_rip(ctx, box.user)[before:], ["127.0.0.2"],
       "the address Dovecot saw mailwrench's login come from", res)


@scenario
def source_address_errors(ctx):
    """An address that is not this machine's: 69 naming --source-address; not an address: 64;
    an IPv6 source for a server reached over IPv4 only: 69 saying there is no IPv6 address."""
    port = str(ctx.env["pop3s_port"])
    res = ctx.run(tls_args(ctx, "127.0.0.1", port) + ["--source-address", "192.0.2.7", "stat"],
                  user="alice")
    expect_error(res, EX_UNAVAILABLE, r"--source-address 192\.0\.2\.7.*address of this machine",
                 "--source-address 192.0.2.7")
    res = ctx.run(tls_args(ctx, "127.0.0.1", port) + ["--source-address", "eth0", "stat"],
                  user="alice")
    expect_error(res, EX_USAGE, r"--source-address", "--source-address eth0")
    res = ctx.run(tls_args(ctx, "127.0.0.1", port) + ["--source-address", "::1", "stat"],
                  user="alice")
    expect_error(res, EX_UNAVAILABLE, r"no IPv6 address", "--source-address ::1 to 127.0.0.1")


# --------------------------------------------------------------------------- (c) client certificates

def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def client_pki(ctx) -> dict:
    """A client CA and a client certificate signed by it (key mode 600), in the scratch dir."""
    d = ctx.scratch / "pki"
    d.mkdir(exist_ok=True)
    if (d / "client.pem").exists():
        return {k: str(d / f) for k, f in (("ca", "client-ca.pem"), ("cert", "client.pem"),
                                            ("key", "client.key"))}
    openssl("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
            "-keyout", str(d / "client-ca.key"), "-out", str(d / "client-ca.pem"),
            "-subj", "/O=mailwrench tests/CN=client CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    (d / "client.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                  "extendedKeyUsage=clientAuth\n")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "client.key"),
            "-out", str(d / "client.csr"), "-subj", "/O=mailwrench tests/CN=alice")
    openssl("x509", "-req", "-in", str(d / "client.csr"), "-CA", str(d / "client-ca.pem"),
            "-CAkey", str(d / "client-ca.key"), "-CAcreateserial", "-days", "30", "-sha256",
            "-extfile", str(d / "client.ext"), "-out", str(d / "client.pem"))
    os.chmod(d / "client.key", 0o600)
    os.chmod(d / "client-ca.pem", 0o644)
    return client_pki(ctx)


@contextmanager
def dovecot_requiring_client_cert(ctx, client_ca: str):
    """A second Dovecot (the fixture's config, users and mail; its own ports, run and log
    directories) on 127.0.0.1 that requires a client certificate signed by client_ca."""
    if os.geteuid() != 0:
        raise mw.Skip("a second Dovecot needs root")
    d = Path(tempfile.mkdtemp(prefix="mw-cc-", dir="/tmp"))
    os.chmod(d, 0o755)
    for sub in ("run", "state", "log"):
        (d / sub).mkdir(mode=0o755)
    shutil.copy(client_ca, d / "client-ca.pem")
    os.chmod(d / "client-ca.pem", 0o644)
    base = ctx.dir
    conf = (base / "dovecot.conf").read_text()
    pop3_port, pop3s_port = dv.free_ports(2)
    conf = re.sub(r"^instance_name = .*$", f"instance_name = mwtest-cc-{d.name[-6:]}", conf, flags=re.M)
    for key, sub in (("base_dir", "run"), ("state_dir", "state")):
        conf = re.sub(rf"^{key} = .*$", f"{key} = {d}/{sub}", conf, flags=re.M)
    conf = re.sub(r"^log_path = .*$", f"log_path = {d}/log/dovecot.log", conf, flags=re.M)
    conf = re.sub(r"^listen = .*$", "listen = 127.0.0.1", conf, flags=re.M)
    conf = re.sub(r"^(\s*)address = .*$", r"\1address = 127.0.0.1", conf, flags=re.M)
    conf = conf.replace(f"port = {ctx.env['pop3_port']}\n", f"port = {pop3_port}\n")
    conf = conf.replace(f"port = {ctx.env['pop3s_port']}\n", f"port = {pop3s_port}\n")
    # POP3 only: the fixture's LMTP listener (send --lmtp) has the first Dovecot's port.
    conf = re.sub(r"^protocols = .*$", "protocols = pop3", conf, flags=re.M)
    if "lmtp_port" in ctx.env:
        conf = conf.replace(f"port = {ctx.env['lmtp_port']}\n", f"port = {dv.free_ports(1)[0]}\n")
    conf += (f"ssl_ca = <{d}/client-ca.pem\nssl_verify_client_cert = yes\n"
             "ssl_require_crl = no\nauth_ssl_require_client_cert = yes\n")
    (d / "dovecot.conf").write_text(conf)
    try:
        # The master keeps its stdio open: a file, not a pipe (as dovecot_fixture.launch).
        with open(d / "log" / "startup.log", "wb") as out:
            r = subprocess.run([dv.find_binary("dovecot"), "-c", str(d / "dovecot.conf")],
                               stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=60)
        if r.returncode != 0:
            mw.fail("the client-certificate Dovecot did not start: " +
                    (d / "log" / "startup.log").read_text(errors="replace"))
        deadline = time.monotonic() + 15
        while not dv.port_accepts("127.0.0.1", pop3s_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        yield {"pop3_port": pop3_port, "pop3s_port": pop3s_port, "log": d / "log" / "dovecot.log"}
    finally:
        pid = dv.master_pid(d)
        if pid:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while dv.pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
        shutil.rmtree(d, ignore_errors=True)


@scenario
def client_cert_pop3(ctx):
    """A Dovecot that requires a client certificate: without --tls-cert the login is refused;
    with --tls-cert/--tls-key (key mode 600) stat works, over implicit TLS and STLS; a key in
    the certificate's own file works without --tls-key."""
    pki = client_pki(ctx)
    with dovecot_requiring_client_cert(ctx, pki["ca"]) as srv:
        port = str(srv["pop3s_port"])
        res = ctx.run(tls_args(ctx, "localhost", port) + ["stat"], user="alice")
        check(res.rc not in (0, None), "stat without a client certificate succeeded against a "
              "server that requires one", res)
        res = ctx.run(tls_args(ctx, "localhost", port) + ["--tls-cert", pki["cert"], "--tls-key",
                                                          pki["key"], "stat"], user="alice")
        stat_ok(ctx, res, "stat --tls-cert --tls-key (implicit TLS)")
        res = ctx.run(["-H", "localhost", "-p", str(srv["pop3_port"]), "--tls", "starttls",
                       "--cacert", ctx.env["ca"], "-u", "alice", "--tls-cert", pki["cert"],
                       "--tls-key", pki["key"], "stat"], user="alice")
        stat_ok(ctx, res, "stat --tls-cert --tls-key (STLS)")
        both = ctx.file("both.pem", Path(pki["cert"]).read_text() + Path(pki["key"]).read_text())
        res = ctx.run(tls_args(ctx, "localhost", port) + ["--tls-cert", str(both), "stat"],
                      user="alice")
        stat_ok(ctx, res, "stat --tls-cert FILE holding the key too")


@scenario
def client_key_mode_and_passphrase(ctx):
    """A key file group or others may read: 77 naming chmod 600, nothing sent (no connection
    made: the host does not resolve); an encrypted key: 78 saying mailwrench does not ask for
    the passphrase, without waiting for one; a key of another certificate: 78; --tls-key
    without --tls-cert: 64. The same refusal for send (SMTP)."""
    pki = client_pki(ctx)
    loose = ctx.file("loose.key", Path(pki["key"]).read_text(), mode=0o640)
    args = ["-H", "no-such-host.invalid", "-u", "alice", "--tls-cert", pki["cert"]]
    res = ctx.run(args + ["--tls-key", str(loose), "stat"], user="alice")
    expect_error(res, EX_NOPERM, r"chmod 600", "a client key of mode 640")
    check("0640" in res.stderr, "the error does not give the key's mode", res)
    res = ctx.run(["-H", "no-such-host.invalid", "--tls-cert", pki["cert"], "--tls-key",
                   str(loose)] + SEND, password="x")
    expect_error(res, EX_NOPERM, r"chmod 600", "send with a client key of mode 640")
    enc = ctx.scratch / "enc.key"
    subprocess.run(["openssl", "pkey", "-in", pki["key"], "-aes256", "-passout", "pass:pw-1234",
                    "-out", str(enc)], check=True, capture_output=True)
    os.chmod(enc, 0o600)
    res = ctx.run(args + ["--tls-key", str(enc), "stat"], user="alice", timeout=20)
    expect_error(res, EX_CONFIG, r"passphrase", "an encrypted client key")
    other = ctx.scratch / "other.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(other)], check=True, capture_output=True)
    os.chmod(other, 0o600)
    res = ctx.run(args + ["--tls-key", str(other), "stat"], user="alice")
    expect_error(res, EX_CONFIG, r"does not belong", "the key of another certificate")
    res = ctx.run(["-H", "localhost", "--tls-key", pki["key"], "stat"], user="alice")
    expect_error(res, EX_USAGE, r"--tls-cert", "--tls-key alone")


@scenario
def client_cert_smtp(ctx):
    """send over implicit TLS to an SMTP server that requires a client certificate signed by the
    client CA: refused without --tls-cert, the message goes with it."""
    pki = client_pki(ctx)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(Path(ctx.env["dir"]) / "tls" / "server-chain.pem"),
                           str(Path(ctx.env["dir"]) / "tls" / "server.key"))
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(pki["ca"])
    mailer = SmtpMailer(ehlo=["8BITMIME"])
    with ScriptedServer([], greeting="220 fake.example ESMTP", unexpected="502 5.5.2 unexpected",
                        fallback=mailer, tls_context=server, implicit_tls=True) as srv:
        base = ["-H", "localhost", "-p", str(srv.port), "--tls", "implicit", "--cacert",
                ctx.env["ca"], "--timeout", "10"]
        res = ctx.run(base + SEND)
        check(res.rc not in (0, None), "send without a client certificate succeeded", res)
        res = ctx.run(base + ["--tls-cert", pki["cert"], "--tls-key", pki["key"]] + SEND)
        expect_ok(res, "send --tls-cert --tls-key")
        srv.settle()
    eq(len(mailer.data), 1, "messages the SMTP server received", res)


# --------------------------------------------------------------------------- (d) SOCKS5

@scenario
def socks5h_sends_the_name(ctx):
    """--proxy socks5h://: the proxy is asked for the host name (ATYP 3 'localhost'), and stat
    works through it over implicit TLS (the certificate checked against the name); -vv names the
    proxy."""
    port = ctx.env["pop3s_port"]
    with Socks5Server() as proxy:
        res = ctx.run(tls_args(ctx, "localhost", str(port)) +
                      ["--proxy", f"socks5h://127.0.0.1:{proxy.port}", "-vv", "stat"],
                      user="alice")
    stat_ok(ctx, res, "stat through socks5h")
    eq([(r["atyp"], r["host"], r["port"]) for r in proxy.requests], [(3, "localhost", port)],
       "the CONNECT requests the proxy received", res)
    check(f"127.0.0.1:{proxy.port}" in res.stderr, "-vv does not name the proxy", res)


@scenario
def socks5_resolves_locally(ctx):
    """--proxy socks5:// resolves the name here: the proxy is asked for an address (ATYP 1 or
    4), never the name; STLS works through it; a config file's 'proxy' key and the
    MAILWRENCH_PROXY variable are read too."""
    port = ctx.env["pop3_port"]
    with Socks5Server() as proxy:
        res = ctx.run(["-H", "localhost", "-p", str(port), "--tls", "starttls", "--cacert",
                       ctx.env["ca"], "-u", "alice", "--proxy",
                       f"socks5://127.0.0.1:{proxy.port}", "stat"], user="alice")
        stat_ok(ctx, res, "stat through socks5 with STLS")
        check(len(proxy.requests) == 1 and proxy.requests[0]["atyp"] in (1, 4) and
              proxy.requests[0]["host"] in ("127.0.0.1", "::1"),
              f"socks5 sent {proxy.requests}, expected the address of localhost", res)
        cfg = ctx.file("proxy.conf", f"[account p]\nhost = localhost\nport = {ctx.env['pop3s_port']}\n"
                                     f"cacert = {ctx.env['ca']}\nuser = alice\n"
                                     f"proxy = socks5h://127.0.0.1:{proxy.port}\n")
        res = ctx.run(["--config", str(cfg), "-a", "p", "stat"], user="alice")
        stat_ok(ctx, res, "stat with proxy = in the config file")
        res = ctx.run(tls_args(ctx, "localhost", str(ctx.env["pop3s_port"])) + ["stat"],
                      user="alice", env={"MAILWRENCH_PROXY": f"socks5h://127.0.0.1:{proxy.port}"})
        stat_ok(ctx, res, "stat with MAILWRENCH_PROXY")
    eq(len(proxy.requests), 3, "CONNECT requests (flag, config file, environment)", res)


@scenario
def socks5_ipv6_target(ctx):
    """-H ::1 through socks5h: the proxy is asked for the IPv6 address (ATYP 4)."""
    need_ip6(ctx)
    port = ctx.env["pop3s_port"]
    with Socks5Server() as proxy:
        res = ctx.run(tls_args(ctx, "::1", str(port)) +
                      ["--proxy", f"socks5h://127.0.0.1:{proxy.port}", "stat"], user="alice")
    stat_ok(ctx, res, "stat -H ::1 through socks5h")
    eq([(r["atyp"], r["host"]) for r in proxy.requests], [(4, "::1")], "the CONNECT request", res)


@scenario
def socks5_smtp(ctx):
    """send through socks5h to an SMTP server: the proxy is asked for the name and the
    message arrives."""
    mailer = SmtpMailer(ehlo=["8BITMIME"])
    with ScriptedServer([], greeting="220 fake.example ESMTP", unexpected="502 5.5.2 unexpected",
                        fallback=mailer) as srv, Socks5Server() as proxy:
        res = ctx.run(["-H", "localhost", "-p", str(srv.port), "--tls", "none", "--timeout", "10",
                       "--proxy", f"socks5h://127.0.0.1:{proxy.port}"] + SEND)
        expect_ok(res, "send through socks5h")
        srv.settle()
    eq(len(mailer.data), 1, "messages the SMTP server received", res)
    eq([(r["atyp"], r["host"], r["port"]) for r in proxy.requests], [(3, "localhost", srv.port)],
       "the CONNECT request", res)


@scenario
def socks5_errors(ctx):
    """A proxy that refuses (reply 5: 69 'connection refused'; reply 2: 69 'not allowed by
    ruleset'), a name it cannot resolve (68), a dead proxy (69), one that stalls (75 within
    --timeout), one that wants authentication (77), one that is not SOCKS5 (76); a password
    in the URL: 64, not echoed."""
    base = tls_args(ctx, "localhost", str(ctx.env["pop3s_port"]))
    for mode, code, pattern in (("refuse:5", EX_UNAVAILABLE, r"connection refused \(reply 5\)"),
                                ("refuse:2", EX_UNAVAILABLE, r"not allowed by ruleset"),
                                ("auth", EX_NOPERM, r"requires authentication"),
                                ("not-socks", EX_PROTOCOL, r"does not answer as a SOCKS5 proxy")):
        with Socks5Server(mode) as proxy:
            res = ctx.run(base + ["--proxy", f"socks5h://127.0.0.1:{proxy.port}", "stat"],
                          user="alice")
        expect_error(res, code, pattern, f"a proxy in mode {mode}")
        check(f"127.0.0.1:{proxy.port}" in res.stderr, f"mode {mode}: the error does not name "
              "the proxy", res)
    with Socks5Server() as proxy:
        res = ctx.run(tls_args(ctx, "no-such-host.invalid", "995") +
                      ["--proxy", f"socks5h://127.0.0.1:{proxy.port}", "stat"], user="alice")
    expect_error(res, EX_NOHOST, r"host unreachable", "socks5h to a name that does not resolve")
    eq([r["host"] for r in proxy.requests], ["no-such-host.invalid"], "the name sent", res)
    dead = mw.closed_port()
    res = ctx.run(base + ["--proxy", f"socks5h://127.0.0.1:{dead}", "stat"], user="alice")
    expect_error(res, EX_UNAVAILABLE, rf"proxy 127\.0\.0\.1:{dead}", "a dead proxy")
    with Socks5Server("stall") as proxy:
        t0 = time.monotonic()
        res = ctx.run([a if a != "20" else "2" for a in base] +
                      ["--proxy", f"socks5h://127.0.0.1:{proxy.port}", "stat"], user="alice")
        took = time.monotonic() - t0
    expect_error(res, EX_TEMPFAIL, r"timed out.*SOCKS5 proxy", "a stalling proxy")
    check(took < 15 * ctx.slowness(), f"a stalling proxy took {took:.1f} s with --timeout 2", res)
    res = ctx.run(base + ["--proxy", "socks5h://joe:pr0xy-secret@127.0.0.1:1080", "stat"],
                  user="alice")
    expect_error(res, EX_USAGE, r"no password", "a password in --proxy")
    check("pr0xy-secret" not in res.stderr, "the proxy password was echoed", res)
    res = ctx.run(base + ["--proxy", "http://127.0.0.1:3128", "stat"], user="alice")
    expect_error(res, EX_USAGE, r"socks5h://", "an HTTP proxy URL")


@scenario
def socks5_login(ctx):
    """RFC 1929: --proxy socks5h://USER@HOST:PORT with the password in MAILWRENCH_PROXY_PASSWORD
    logs in to a proxy that requires it (stat through it, the proxy saw the user and the right
    password; the password in no output, not even at -vv, nor in --log-file); a wrong password:
    77 naming the user, not the password; a user without MAILWRENCH_PROXY_PASSWORD: 78 before any
    connection; no user for a proxy that wants one: 77 saying how to give one."""
    secret = "Px-" + os.urandom(6).hex()
    wrong = "Wx-" + os.urandom(6).hex()
    mw._SECRETS[:0] = [(secret, "<the proxy password>"), (wrong, "<the wrong proxy password>")]
    base = tls_args(ctx, "localhost", str(ctx.env["pop3s_port"]))
    log = ctx.scratch / "proxy.log"
    with Socks5Server(login=("joe@example.org", secret)) as proxy:
        url = f"socks5h://joe%40example.org@127.0.0.1:{proxy.port}"
        res = ctx.run(base + ["--proxy", url, "-vv", "--log-file", str(log), "stat"],
                      user="alice", env={"MAILWRENCH_PROXY_PASSWORD": secret})
        stat_ok(ctx, res, "stat through a proxy that requires a login")
        eq(proxy.logins, [("joe@example.org", True)], "the logins the proxy saw", res)
        eq(proxy.methods, [[0, 2]], "the methods offered", res)
        for where, text in (("stdout", res.stdout), ("stderr", res.stderr),
                            ("the log file", log.read_text())):
            check(secret not in text, f"the proxy password is in {where}", res)
        res = ctx.run(base + ["--proxy", url, "stat"], user="alice",
                      env={"MAILWRENCH_PROXY_PASSWORD": wrong})
        expect_error(res, EX_NOPERM, r"refused the user name 'joe@example\.org'", "a wrong password")
        check(wrong not in res.stderr + res.stdout, "the wrong proxy password was echoed", res)
        eq(proxy.logins[-1], ("joe@example.org", False), "the last login the proxy saw", res)
        before = proxy.connections
        res = ctx.run(base + ["--proxy", url, "stat"], user="alice",
                      env={"MAILWRENCH_PROXY_PASSWORD": None})
        expect_error(res, EX_CONFIG, r"MAILWRENCH_PROXY_PASSWORD", "a user and no password")
        eq(proxy.connections, before, "connections to the proxy without a password", res)
        res = ctx.run(base + ["--proxy", f"socks5h://127.0.0.1:{proxy.port}", "stat"], user="alice")
        expect_error(res, EX_NOPERM, r"socks5h://USER@HOST:PORT", "no user for a proxy that wants one")
    # A proxy that needs no login, offered one, takes "no authentication": no login is sent.
    with Socks5Server() as proxy:
        res = ctx.run(base + ["--proxy", f"socks5h://joe@127.0.0.1:{proxy.port}", "stat"],
                      user="alice", env={"MAILWRENCH_PROXY_PASSWORD": secret})
        stat_ok(ctx, res, "a login offered to a proxy that needs none")
        eq(proxy.logins, [], "logins sent to a proxy that chose no authentication", res)


@scenario
def socks5_every_address(ctx):
    """socks5:// resolves the server's name here; when the proxy cannot reach the first address
    (reply 3, network unreachable: a proxy without IPv6), the next one is tried on a new
    connection to the proxy. The name resolves to ::1 and 127.0.0.1 through a private
    /etc/hosts (a mount namespace), so both are tried whatever the machine's order."""
    need_ip6(ctx)
    if not mw.is_root() or shutil.which("unshare") is None:
        raise mw.Skip("needs root and unshare(1) for a private /etc/hosts")
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        raise mw.Skip("unshare -m is not permitted here")
    hosts = ctx.scratch / "hosts"
    hosts.write_text("::1 localhost\n127.0.0.1 localhost\n")
    script = f'set -e\nmount --bind {hosts} /etc/hosts\nexec "$@"\n'
    ctx.slowness()  # measured on mailwrench, before ctx.bin is unshare(1)
    real = ctx.bin
    with Socks5Server("refuse-first:3") as proxy:
        ctx.bin = shutil.which("unshare")
        try:
            res = ctx.run(["-m", "--propagation", "private", "sh", "-c", script, "sh", real] +
                          tls_args(ctx, "localhost", str(ctx.env["pop3s_port"])) +
                          ["--proxy", f"socks5://127.0.0.1:{proxy.port}", "stat"], user="alice")
        finally:
            ctx.bin = real
    stat_ok(ctx, res, "socks5:// when the proxy cannot reach the first address")
    eq(sorted(r["host"] for r in proxy.requests), ["127.0.0.1", "::1"],
       "the addresses asked of the proxy", res)
    eq(proxy.connections, 2, "connections to the proxy", res)


if __name__ == "__main__":
    mw.main()
