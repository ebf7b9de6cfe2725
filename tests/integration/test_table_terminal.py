#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The `list` table on a real terminal (a tmux window, tests/support/terminal.py) against the
scripted Pop3Mailbox (issue 13, friction): the From column uses a wide window instead of
stopping at 28 columns, and a message with old-Mac CR line endings shows its own From in the
From column, not its whole text.
"""
from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, scenario  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer  # noqa: E402
from terminal import TmuxTerminal  # noqa: E402

PASSWORD = "table-Pa55-" + os.urandom(4).hex()
LONG_FROM = "Very Long Display Name <someone.with.a.long.address@example.org>"


def list_on_terminal(ctx, box: Pop3Mailbox, width: int) -> tuple[int, str]:
    with ScriptedServer([], fallback=box) as srv:
        args = ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext", "-u", "lister",
                "--timeout", "10", "list", "--headers"]
        term = TmuxTerminal(ctx, shlex.join([ctx.bin] + args), password=PASSWORD, width=width)
        try:
            code = term.exit_code()
            return code, term.screen()
        finally:
            term.close()


@scenario
def from_uses_wide_terminal(ctx):
    """On a 180-column terminal a 65-character From is shown whole, with the subject."""
    box = Pop3Mailbox([mw.message("wide1", frm=LONG_FROM, subject="wide subject")])
    code, screen = list_on_terminal(ctx, box, 180)
    eq(code, 0, "list --headers on a 180-column terminal: exit code")
    check(LONG_FROM in screen and "wide subject" in screen,
          f"list --headers on a 180-column terminal: the whole From and the subject:\n{screen}")


@scenario
def old_mac_cr_message(ctx):
    """A message with CR line endings only: its From column holds its From (not its Subject or
    body), its Subject column its Subject."""
    mac = (b"From: Mac User <mac@example.org>\rTo: rcpt@lab.test\rSubject: classic mac\r"
           b"Date: Mon, 1 Jun 2020 12:00:00 +0000\r\rBODYTEXT line one\rBODYTEXT line two\r")
    box = Pop3Mailbox([mw.message("plain1", subject="plain subject"), mac])
    code, screen = list_on_terminal(ctx, box, 180)
    what = "list --headers of an old-Mac (CR) message"
    eq(code, 0, f"{what}: exit code")
    row = next((line for line in screen.splitlines() if line.lstrip().startswith("2 ")), "")
    check(re.search(r"  Mac User <mac@example\.org> +classic mac$", row), f"{what}: From then Subject in row 2:\n{screen}")
    check("BODYTEXT" not in screen and "To:" not in row, f"{what}: nothing else of the message:\n{screen}")
    check("2020-06-01 12:00" in row, f"{what}: its Date is read too:\n{screen}")


if __name__ == "__main__":
    sys.exit(mw.main())
