#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""purge asks on the controlling terminal (/dev/tty), whatever stdout and stderr are
(issue 13.7): `purge N >log` shows the table and the question on the terminal, and `purge N
2>log` asks too. The question names the account (user@host). A real terminal: a tmux session
on its own socket, answered with send-keys and read with capture-pane; the POP3 server is the
scripted Pop3Mailbox (tests/support), which records the deletions a QUIT committed.
"""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, scenario  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer  # noqa: E402
from terminal import TmuxTerminal  # noqa: E402

PASSWORD = "prompt-Pa55-" + os.urandom(4).hex()


def Terminal(ctx, command: str, width: int = 120) -> TmuxTerminal:
    return TmuxTerminal(ctx, command, password=PASSWORD, width=width)


def mailbox() -> Pop3Mailbox:
    return Pop3Mailbox([mw.message(f"prompt{i}", frm=f"Sender {i} <s{i}@example.org>", subject=f"subject {i}")
                        for i in (1, 2, 3)])


def purge(ctx, srv, redirect: str, answer: str) -> tuple[int, str, Terminal]:
    args = ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext", "-u", "prompter",
            "--timeout", "10", "purge", "2"]
    command = shlex.join([ctx.bin] + args) + " " + redirect
    term = Terminal(ctx, command)
    try:
        screen = term.wait_for("[y/N]")
        term.keys(answer, "Enter")
        code = term.exit_code()
        srv.settle()
        return code, screen, term
    finally:
        term.close()


def expect_question(screen: str, what: str):
    check("Delete 1 message" in screen and "prompter@127.0.0.1" in screen,
          f"{what}: the question names the count and the account (user@host):\n{screen}")


@scenario
def stdout_redirected_shows_table_answer_no(ctx):
    """purge 2 >log: the table (message 2's From and Subject) and the question are on the
    terminal; n deletes nothing (exit 0)."""
    box = mailbox()
    with ScriptedServer([], fallback=box) as srv:
        code, screen, _ = purge(ctx, srv, ">out.log 2>err.log", "n")
    what = "purge 2 >log, answered n"
    expect_question(screen, what)
    check("subject 2" in screen and "s2@example.org" in screen,
          f"{what}: the table of what would be deleted is on the terminal:\n{screen}")
    check("subject 1" not in screen, f"{what}: only the selected message is shown:\n{screen}")
    eq(code, 0, f"{what}: exit code")
    eq(box.committed_deletes, [], f"{what}: deletions the server committed")
    check("nothing deleted" in (ctx.scratch / "out.log").read_text(), f"{what}: the log says nothing was deleted")


@scenario
def stdout_redirected_answer_yes(ctx):
    """purge 2 >log answered y: message 2 deleted (QUIT committed it), the log says so."""
    box = mailbox()
    with ScriptedServer([], fallback=box) as srv:
        code, screen, _ = purge(ctx, srv, ">out.log", "y")
    what = "purge 2 >log, answered y"
    expect_question(screen, what)
    check("subject 2" in screen, f"{what}: the table is on the terminal:\n{screen}")
    eq(code, 0, f"{what}: exit code")
    eq(box.committed_deletes, [2], f"{what}: deletions the server committed")
    check("deleted 1 message" in (ctx.scratch / "out.log").read_text(), f"{what}: the log says what was deleted")


@scenario
def stderr_redirected_asks(ctx):
    """purge 2 2>log on a terminal asks (it used to say "there is no terminal to ask on");
    y deletes message 2, and the table is shown once (stdout is the terminal)."""
    box = mailbox()
    with ScriptedServer([], fallback=box) as srv:
        code, screen, _ = purge(ctx, srv, "2>err.log", "y")
    what = "purge 2 2>log, answered y"
    expect_question(screen, what)
    eq(screen.count("subject 2"), 1, f"{what}: times the table row is on the terminal\n{screen}")
    eq(code, 0, f"{what}: exit code; stderr: {(ctx.scratch / 'err.log').read_text()}")
    eq(box.committed_deletes, [2], f"{what}: deletions the server committed")


if __name__ == "__main__":
    sys.exit(mw.main())
