#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 13, item 11: --tls none (or starttls) against a port that speaks TLS from the first
byte. Such a server waits for the client's ClientHello and never sends a greeting: the timeout
(75) says the port looks like implicit TLS and suggests --tls implicit; on ports 995 and 465 the
greeting is not awaited the whole --timeout."""
import socket
import sys
import threading
import time

import mwtest as mw
from mwtest import check, expect_error, scenario

EX_TEMPFAIL = 75


@scenario
def tls_none_on_pop3s_port_names_tls_implicit(ctx):
    """The real Dovecot's POP3S port with --tls none --allow-plaintext --timeout 3: 75, and the
    one error line names --tls implicit."""
    port = str(ctx.env["pop3s_port"])
    for tls in ("none", "starttls"):
        args = ["-H", ctx.env["host"], "-p", port, "--tls", tls, "--cacert", ctx.env["ca"],
                "-u", "alice", "--timeout", "3", "stat"]
        if tls == "none":
            args.insert(-5, "--allow-plaintext")
        res = ctx.run(args, user="alice", timeout=30)
        expect_error(res, EX_TEMPFAIL, r"--tls implicit", f"--tls {tls} on the POP3S port")
        check("greeting" in res.stderr, f"--tls {tls} on the POP3S port: the error does not say "
              "that no greeting came", res)


def silent_listener(port: int):
    """A TCP server on 127.0.0.1:port that accepts and says nothing (as a TLS server does)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as e:
        sock.close()
        raise mw.Skip(f"port {port} is not free here: {e}")
    sock.listen(4)
    held = []

    def accept():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return sock, held


@scenario
def tls_none_on_port_995_does_not_wait_the_whole_timeout(ctx):
    """A silent server on port 995 (POP3S) and 465 (SMTPS), --tls none --timeout 30: the error
    (75, naming --tls implicit and the port) comes after a few seconds, not after 30."""
    if not mw.is_root():
        raise mw.Skip("binding ports 995 and 465 needs root")
    for port, command in ((995, ["stat"]), (465, ["send", "--from", "a@example.org", "--to",
                                                   "b@example.org", "--subject", "s", "--body", "b"])):
        sock, held = silent_listener(port)
        try:
            args = ["-H", "127.0.0.1", "-p", str(port), "--tls", "none", "--allow-plaintext",
                    "-u", "alice", "--timeout", "30"] + command
            t0 = time.monotonic()
            res = ctx.run(args, password="not-used-" + str(port), timeout=60)
            took = time.monotonic() - t0
        finally:
            sock.close()
            for c in held:
                c.close()
        expect_error(res, EX_TEMPFAIL, rf"{port}.*--tls implicit", f"--tls none on port {port}")
        check(took < 15, f"--tls none on port {port}: waited {took:.1f} s for a greeting "
              "(--timeout 30), expected a few seconds", res)


if __name__ == "__main__":
    sys.exit(mw.main())
