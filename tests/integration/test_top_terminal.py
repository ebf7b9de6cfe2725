#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 13, item 5: top and unbounded lines. On a terminal a line longer than 4096 octets is cut
there with a visible "… [N more octets]" marker (streamed: a 2 MB header line is counted, not
held); into a pipe the message goes as the server sent it; top --raw gives the raw bytes even on
a terminal. Against the scripted server of tests/support (a Pop3Mailbox)."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_ok, scenario  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer  # noqa: E402

PASSWORD = "topterm-Pa55-" + os.urandom(4).hex()
LIMIT = 4096
LONG = 2 << 20


def pop3_args(srv: ScriptedServer) -> list[str]:
    if all(secret != PASSWORD for secret, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (PASSWORD, "<password of the scripted server's user>"))
    return ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
            "-u", "terminal", "--timeout", "20"]


def run_bytes(ctx, args: list[str], *, tty: bool, timeout: float = 60) -> tuple[mw.Result, bytes]:
    """mailwrench with stdout on a pipe, or on a pseudo-terminal (raw mode) when tty."""
    res, out, _ = ctx.run_bytes(args, password=PASSWORD, tty=tty, timeout=timeout)
    return res, out


def long_line_message() -> tuple[bytes, bytes]:
    """A message with a 2 MB header line (multi-octet characters around the cut) and a body line
    of exactly the limit; returns (message, the long field's value)."""
    value = ("é" * 3000).encode() + b"x" * (LONG - 6000)
    body_line = b"b" * LIMIT
    msg = (b"From: a@example.org\nX-Odd: " + value + b"\nSubject: after the long line\n\n"
           + body_line + b"\nlast line\n")
    return msg, value


@scenario
def top_long_line_cut_on_terminal(ctx):
    """top of a message with a 2 MB header line on a terminal: the line is shown up to 4096
    octets (not inside a character), then '… [N more octets]' with N the octets not shown; the
    lines after it and a body line of exactly 4096 octets are shown whole."""
    msg, value = long_line_message()
    with ScriptedServer([], fallback=Pop3Mailbox([msg])) as srv:
        res, out = run_bytes(ctx, pop3_args(srv) + ["top", "1", "--lines", "10"], tty=True)
    expect_ok(res, "top on a terminal")
    check(len(out) < 64 * 1024, f"top on a terminal: {len(out)} octets shown for a 2 MB line", res)
    lines = out.split(b"\n")
    long = [ln for ln in lines if ln.startswith(b"X-Odd: ")]
    eq(len(long), 1, "top on a terminal: the X-Odd line", res)
    m = re.fullmatch(rb"(X-Odd: .*)\xe2\x80\xa6 \[(\d+) more octets\]", long[0], re.S)
    check(m is not None, f"top on a terminal: no '… [N more octets]' marker after the long line "
          f"(it ends {long[0][-80:]!r})", res)
    shown = m.group(1)
    check(LIMIT - 3 <= len(shown) < LIMIT, f"top on a terminal: {len(shown)} octets "
          f"of the long line shown, expected up to {LIMIT}, cut before the character that does not fit", res)
    shown.decode("utf-8")  # not cut inside a character
    full = b"X-Odd: " + value
    eq(full[:len(shown)], shown, "top on a terminal: the start of the long line", res)
    eq(int(m.group(2)), len(full) - len(shown), "top on a terminal: N more octets", res)
    check(b"Subject: after the long line" in lines, "top on a terminal: the line after the long one", res)
    check(b"b" * LIMIT in lines, "top on a terminal: a line of exactly 4096 octets is shown whole", res)
    check(b"last line" in lines, "top on a terminal: the last line", res)


@scenario
def top_long_line_raw_into_pipe_and_with_raw(ctx):
    """The same message into a pipe, and with top --raw on a terminal: exactly the bytes the
    server sent (no cut, no marker)."""
    msg, _ = long_line_message()
    with ScriptedServer([], fallback=Pop3Mailbox([msg])) as srv:
        res, out = run_bytes(ctx, pop3_args(srv) + ["top", "1", "--lines", "10"], tty=False)
        expect_ok(res, "top into a pipe")
        eq(out, msg, "top into a pipe: the message as the server sent it", res)
        res, out = run_bytes(ctx, pop3_args(srv) + ["top", "--raw", "1", "--lines", "10"], tty=True)
        expect_ok(res, "top --raw on a terminal")
        check(out == msg, f"top --raw on a terminal: {len(out)} octets, not the {len(msg)} the server "
              "sent", res)
        # --raw also gives control characters as they are.
        ctl = b"From: a@example.org\nSubject: \x1b[1mbold\x1b[0m\n\nbody\n"
    with ScriptedServer([], fallback=Pop3Mailbox([ctl])) as srv:
        res, out = run_bytes(ctx, pop3_args(srv) + ["top", "--raw", "1", "--lines", "10"], tty=True)
        expect_ok(res, "top --raw on a terminal (escape sequences)")
        eq(out, ctl, "top --raw on a terminal: the escape sequences as sent", res)


if __name__ == "__main__":
    sys.exit(mw.main())
