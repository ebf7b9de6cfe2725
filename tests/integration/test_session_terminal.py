#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`mailwrench session` for a person at a real terminal (issue 15, "Tested"): a tmux session on
its own socket (tests/support/terminal.py), typed into with send-keys and read with
capture-pane, against the scripted Pop3Mailbox (tests/support/scripted_server.py), which
records every line it received and the deletions a QUIT committed. Each scenario asserts what
the screen shows and what the server saw: the prompt and its marked count, completion, the
pager, Ctrl-C / Ctrl-D / a terminal that goes away leaving without deleting, the question at
QUIT, the history (0600, no secrets, no symbolic links), the keep-alive and escapes made
visible. The password reaches mailwrench through the tmux server's environment, never argv;
the history goes to a scratch XDG_STATE_HOME.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import Failure, check, eq, scenario  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer, on, pause  # noqa: E402
from terminal import TmuxTerminal  # noqa: E402

PASSWORD = "session-Pa55-" + os.urandom(4).hex()
USER = "sess"
PROMPT = f"pop3 {USER}@127.0.0.1> "
MARKED = f"pop3 {USER}@127.0.0.1 [1 marked]> "


def messages(count: int = 3) -> list[bytes]:
    return [mw.message(f"sess{i}", frm=f"Sender {i} <s{i}@example.org>", subject=f"subject {i}")
            for i in range(1, count + 1)]


class Session:
    """mailwrench session in a tmux terminal against srv; env: extra variables for it (the
    state directory is the scratch directory's "state" unless env says otherwise)."""

    def __init__(self, ctx, srv: ScriptedServer, *, args: list[str] = (), env: dict | None = None,
                 height: int | None = None, name: str = "session"):
        self.ctx = ctx
        variables = {"XDG_STATE_HOME": str(ctx.scratch / "state")}
        variables.update(env or {})
        argv = [ctx.bin, "-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext", "-u", USER,
                "--timeout", "10", "session", *args]
        # Ctrl-C reaches the whole foreground process group: the shell that runs mailwrench (no
        # job control) waits for it, as an interactive shell would, instead of dying with it.
        command = "trap : INT\n" + " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items()) + " " + \
            shlex.join(argv)
        sub = ctx.scratch / name
        sub.mkdir(exist_ok=True)
        self.term = TmuxTerminal(_Sub(ctx, sub), command, password=PASSWORD)
        self.pid: int | None = None
        self.started: str | None = None
        if height is not None:
            self.tmux("resize-window", "-y", str(height))

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.term.socket, *args], capture_output=True, text=True,
                              timeout=10).stdout

    def start(self) -> str:
        """Waits for the first prompt; remembers mailwrench's PID (the pane's shell's child)."""
        screen = self.term.wait_for(PROMPT, timeout=10)
        shell = self.tmux("display-message", "-p", "#{pane_pid}").strip()
        children = Path(f"/proc/{shell}/task/{shell}/children")
        if shell.isdigit() and children.exists():
            for pid in children.read_text().split():
                if b"session" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                    self.pid, self.started = int(pid), self._start_time(int(pid))
        return screen

    @staticmethod
    def _start_time(pid: int) -> str | None:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        fields = stat[stat.rindex(")") + 2:].split()
        return None if fields[0] == "Z" else fields[19]  # state; starttime (field 22)

    def keys(self, *keys: str):
        self.term.keys(*keys)

    def wait_for(self, text: str, timeout: float = 10) -> str:
        return self.term.wait_for(text, timeout)

    def wait_count(self, text: str, count: int, timeout: float = 10) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            screen = self.term.screen()
            if screen.count(text) >= count:
                return screen
            time.sleep(0.1)
        raise Failure(f"the terminal never showed {text!r} {count} times; it shows:\n{self.term.screen()}")

    def command(self, typed: str, then: str | None = None) -> str:
        """Types a command and Enter; waits for the prompt after it (or `then`)."""
        prompts = self.term.screen().count("> ")
        self.keys(typed, "Enter")
        if then is not None:
            return self.wait_for(then)
        return self.wait_count("> ", prompts + 1)  # the typed line's prompt stays, a new one comes

    def screen(self) -> str:
        return self.term.screen()

    def exit_code(self) -> int:
        return self.term.exit_code(timeout=10)

    def alive(self) -> bool:
        """Whether the mailwrench this session started still runs (not a zombie, and not
        another process that got its PID since)."""
        return self.pid is not None and self._start_time(self.pid) == self.started

    def close(self):
        self.term.close()
        # mailwrench leaves after the terminal went away; end it only if it did not.
        end = time.monotonic() + 5
        while self.alive() and time.monotonic() < end:
            time.sleep(0.05)
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)


class _Sub:
    """ctx with another scratch directory (two terminals in one scenario)."""

    def __init__(self, ctx, scratch: Path):
        self._ctx, self.scratch = ctx, scratch

    def __getattr__(self, name):
        return getattr(self._ctx, name)


def nothing_committed(srv: ScriptedServer, box: Pop3Mailbox, what: str):
    srv.settle()
    eq(box.committed_deletes, [], f"{what}: deletions the server committed")
    lines = [line.upper() for line in srv.received]
    if "QUIT" in lines and any(line.startswith("DELE") for line in lines):
        quit_at = lines.index("QUIT")
        last_dele = max(i for i, line in enumerate(lines) if line.startswith("DELE"))
        check("RSET" in lines[last_dele:quit_at], f"{what}: RSET between the DELE and the QUIT: {srv.received}")


def mark_first(session: Session) -> str:
    screen = session.command("DELE 1", then=MARKED)
    check("marked 1 for deletion" in screen, f"DELE 1 says what it marked:\n{screen}")
    return screen


@scenario
def prompt_and_dele(ctx):
    """The prompt names user@host; DELE 1 shows the From and Subject of message 1 and the
    prompt then counts "[1 marked]"; the password is nowhere on the screen."""
    box = Pop3Mailbox(messages())
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv)
        try:
            screen = s.start()
            check("QUIT commits deletions" in screen, f"the banner says what commits:\n{screen}")
            screen = mark_first(s)
            dele = screen[screen.index("DELE 1"):]
            check("Sender 1" in dele and "s1@example.org" in dele and "subject 1" in dele,
                  f"DELE 1 shows message 1's From and Subject:\n{screen}")
            check("subject 2" not in screen, f"only the marked message is shown:\n{screen}")
            check(PASSWORD not in screen, "the password is not on the screen")
            eq(srv.saw(r"DELE 1"), ["DELE 1"], "DELE lines the server received")
            s.keys("C-d")
            eq(s.exit_code(), 0, "Ctrl-D: exit code")
        finally:
            s.close()
        nothing_committed(srv, box, "DELE 1 then Ctrl-D")


@scenario
def tab_completion(ctx):
    """li Tab gives "list " (LIST 2 reaches the server); dele Tab Tab lists the message numbers;
    retr 1 Tab lists 1 10 11 12; retr 11 Tab completes (RETR 11 reaches the server)."""
    box = Pop3Mailbox(messages(12))
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv)
        try:
            s.start()
            s.keys("li", "Tab")
            s.wait_for("> list")
            s.command("2")
            eq(srv.saw(r"LIST 2"), ["LIST 2"], "li Tab 2 Enter: what the server received (list 2)")

            s.keys("dele ", "Tab", "Tab")
            screen = s.wait_for("12  ")
            check(re.search(r"^1  2  3  4  5  6  7  8  9  10  11  12\s*$", screen, re.M),
                  f"dele Tab Tab lists the message numbers:\n{screen}")
            s.keys("C-u")  # libedit (emacs): kill the line
            time.sleep(0.2)

            s.keys("retr 1", "Tab")
            screen = s.wait_for("1  10  11  12")
            s.keys("1", "Tab")
            s.wait_for("> retr 11")
            s.command("")
            check(srv.saw(r"RETR 11") == ["RETR 11"] and not srv.saw(r"DELE.*"),
                  f"retr 1 Tab 1 Tab Enter sent RETR 11 (and no DELE): {srv.received}")
            screen = s.wait_for("subject 11")
            s.keys("C-d")
            eq(s.exit_code(), 0, "Ctrl-D: exit code")
        finally:
            s.close()
        nothing_committed(srv, box, "completion")


def long_message() -> bytes:
    return mw.message("long1", subject="the long one",
                      body="".join(f"long body line {i:03d}\n" for i in range(1, 201)))


@scenario
def pager_script(ctx):
    """PAGER='cat >FILE': RETR 1 of a 200-line message goes to the pager (the file has every
    line, the screen none); RETR 2 (short) is shown on the screen, not paged."""
    box = Pop3Mailbox([long_message()] + messages(2)[1:])
    paged = ctx.scratch / "paged.txt"
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv, env={"PAGER": f"cat >{shlex.quote(str(paged))}"}, height=20)
        try:
            s.start()
            s.command("RETR 1")
            screen = s.screen()
            text = paged.read_text() if paged.exists() else ""
            check("long body line 001" in text and "long body line 200" in text,
                  f"RETR 1 (200 lines) went through the pager; it got:\n{text[:500]}")
            check("long body line" not in screen, f"the long message is not on the screen:\n{screen}")
            s.command("RETR 2")
            screen = s.screen()
            check("subject 2" in screen, f"RETR 2 (short) is on the screen:\n{screen}")
            check("subject 2" not in paged.read_text(), "RETR 2 (short) did not go through the pager")
            s.keys("C-d")
            eq(s.exit_code(), 0, "Ctrl-D: exit code")
        finally:
            s.close()


@scenario
def pager_less(ctx):
    """PAGER=less (LESS unset: FRX) in a 15-line window: RETR 1 of a 200-line message stops at
    less's ':'; q returns to the prompt, and the session goes on."""
    box = Pop3Mailbox([long_message()] + messages(2)[1:])
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv, env={"PAGER": "less"}, height=15)
        try:
            s.start()
            s.keys("RETR 1", "Enter")
            screen = s.wait_for("long body line 00")
            time.sleep(0.3)
            screen = s.screen()
            last = [line for line in screen.splitlines() if line.strip()][-1]
            check(last.startswith(":") and "long body line 200" not in screen,
                  f"less holds the message at its ':' prompt:\n{screen}")
            s.keys("q")
            s.wait_for(PROMPT)
            s.command("STAT", then="+OK 2 ")
            s.keys("C-d")
            eq(s.exit_code(), 0, "Ctrl-D after the pager: exit code")
        finally:
            s.close()


def ctrl_c_in_command(ctx, paged_first: bool):
    """Ctrl-C during a command the server is slow to answer (STAT) ends mailwrench the usual
    way ("interrupted by SIGINT; nothing more was sent", exit 130), also after a RETR went
    through the pager (which must give Ctrl-C back as it found it); nothing is deleted."""
    box = Pop3Mailbox([long_message()] + messages(2)[1:])
    paged = ctx.scratch / "paged.txt"
    what = "DELE 2, " + ("a paged RETR 1, " if paged_first else "") + "Ctrl-C during STAT"
    with ScriptedServer([on(r"STAT", pause(2), "+OK 2 0")], fallback=box) as srv:
        s = Session(ctx, srv, env={"PAGER": f"cat >{shlex.quote(str(paged))}"})
        try:
            s.start()
            s.command("DELE 2", then=MARKED)
            if paged_first:
                s.command("RETR 1")
                check(paged.exists() and "long body line 200" in paged.read_text(), "RETR 1 went through the pager")
            s.keys("STAT", "Enter")
            end = time.monotonic() + 5
            while not srv.saw("STAT") and time.monotonic() < end:
                time.sleep(0.05)
            time.sleep(0.2)
            s.keys("C-c")
            code = s.exit_code()
            screen = s.screen()
        finally:
            s.close()
        check("interrupted by SIGINT" in screen, f"{what}: Ctrl-C is reported:\n{screen}")
        eq(code, 130, f"{what}: exit code\n{screen}")
        nothing_committed(srv, box, what)


mw.add("ctrl_c_in_command", ctrl_c_in_command, paged_first=False)
mw.add("ctrl_c_in_command_after_pager", ctrl_c_in_command, paged_first=True)


def key_leaves(ctx, key: str, name: str, expected: int):
    """KEY (Ctrl-C or Ctrl-D) at the prompt after DELE 1: "Leaving without deleting anything.",
    RSET and QUIT, exit EXPECTED (130 for Ctrl-C, 0 for Ctrl-D); the server deleted nothing."""
    box = Pop3Mailbox(messages())
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv)
        try:
            s.start()
            mark_first(s)
            s.keys(key)
            code = s.exit_code()
            screen = s.screen()
        finally:
            s.close()
        eq(code, expected, f"{name} at the prompt: exit code\n{screen}")
        check("Leaving without deleting anything." in screen, f"{name} says it leaves without deleting:\n{screen}")
        nothing_committed(srv, box, f"DELE 1 then {name}")
        check(srv.saw("RSET") and srv.saw("QUIT"), f"{name}: RSET and QUIT were sent: {srv.received}")


mw.add("ctrl_c_leaves", key_leaves, "C-c", "Ctrl-C", 130)
mw.add("ctrl_d_leaves", key_leaves, "C-d", "Ctrl-D", 0)


@scenario
def quit_asks(ctx):
    """QUIT with message 2 marked asks "QUIT commits: delete 1 message (2). Go on? [y/N]"; n
    keeps the session (no QUIT sent, still 1 marked); y deletes exactly message 2."""
    box = Pop3Mailbox(messages())
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv)
        try:
            s.start()
            s.command("DELE 2", then=MARKED)
            s.keys("QUIT", "Enter")
            screen = s.wait_for("[y/N]")
            check("QUIT commits: delete 1 message (2). Go on? [y/N]" in screen, f"the question:\n{screen}")
            s.keys("n", "Enter")
            screen = s.wait_count(MARKED, 2)
            check("QUIT not sent" in screen, f"n: QUIT is not sent:\n{screen}")
            time.sleep(0.2)
            eq(srv.saw("QUIT"), [], "n: QUIT lines the server received")
            s.keys("QUIT", "Enter")
            s.wait_count("[y/N]", 2)
            s.keys("y", "Enter")
            code = s.exit_code()
            screen = s.screen()
        finally:
            s.close()
        eq(code, 0, f"QUIT answered y: exit code\n{screen}")
        check("the server deleted 1 message" in screen, f"y: the deletion is reported:\n{screen}")
        srv.settle()
        eq(box.committed_deletes, [2], "QUIT answered y: deletions the server committed")


@scenario
def ctrl_c_at_quit_question(ctx):
    """Ctrl-C at "QUIT commits: ... [y/N]": mailwrench leaves (exit 130) without deleting."""
    box = Pop3Mailbox(messages())
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv)
        try:
            s.start()
            s.command("DELE 2", then=MARKED)
            s.keys("QUIT", "Enter")
            s.wait_for("[y/N]")
            s.keys("C-c")
            code = s.term.exit_code(timeout=3)
            screen = s.screen()
        finally:
            s.close()
        eq(code, 130, f"Ctrl-C at the question: exit code\n{screen}")
        nothing_committed(srv, box, "Ctrl-C at the QUIT question")


def history_path(ctx) -> Path:
    return ctx.scratch / "state" / "mailwrench" / "history"


@scenario
def history_without_secrets(ctx):
    """After LIST and a refused PASS hunter2x the history file is 0600 with LIST and without
    PASS or hunter2x; a second session recalls LIST with Up."""
    box = Pop3Mailbox(messages())
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv, name="first")
        try:
            s.start()
            s.command("LIST")
            screen = s.command("PASS hunter2x")
            check("mailwrench:" in screen, f"PASS typed at the prompt is refused:\n{screen}")
            s.keys("C-d")
            eq(s.exit_code(), 0, "first session: exit code")
        finally:
            s.close()
        eq(srv.saw(r"PASS hunter2x"), [], "the typed PASS never reached the server")
        path = history_path(ctx)
        check(path.is_file(), f"the history file {path} exists")
        eq(oct(path.stat().st_mode & 0o777), oct(0o600), "history file mode")
        text = path.read_text()
        check("LIST" in text.splitlines(), f"the history has LIST:\n{text}")
        check("hunter2x" not in text and "PASS" not in text.upper(), f"no PASS in the history:\n{text}")

        s = Session(ctx, srv, name="second")
        try:
            s.start()
            lists = len(srv.saw("LIST"))
            s.keys("Up")
            s.wait_for(PROMPT + "LIST")
            s.command("")
            eq(len(srv.saw("LIST")), lists + 1, "Up Enter in the second session sent LIST")
            s.keys("C-d")
            eq(s.exit_code(), 0, "second session: exit code")
        finally:
            s.close()


@scenario
def history_symlink_not_followed(ctx):
    """A symbolic link planted at the history path: a warning, the session works, and the file
    it points to is unchanged."""
    box = Pop3Mailbox(messages())
    target = ctx.file("target.txt", "do not touch\n")
    path = history_path(ctx)
    path.parent.mkdir(parents=True, mode=0o700)
    path.symlink_to(target)
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv)
        try:
            screen = s.start()
            check("warning" in screen and "history" in screen, f"a warning about the history:\n{screen}")
            s.command("STAT", then="+OK 3 ")
            s.keys("C-d")
            eq(s.exit_code(), 0, "exit code")
        finally:
            s.close()
    eq(target.read_text(), "do not touch\n", "the symbolic link's target")
    check(path.is_symlink(), "the history path is still the planted link")


@scenario
def keep_alive_noop(ctx):
    """--keep-alive 1, idle for 3 s: NOOPs reach the server, nothing shows on the screen."""
    box = Pop3Mailbox(messages())
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv, args=["--keep-alive", "1"])
        try:
            before = s.start()
            time.sleep(3.2)
            noops = len(srv.saw("NOOP"))
            after = s.screen()
            s.keys("C-d")
            eq(s.exit_code(), 0, "exit code")
        finally:
            s.close()
    check(noops >= 2, f"NOOPs while idle for 3 s with --keep-alive 1: {noops} ({srv.received})")
    eq(after, before, "the screen after 3 s idle with keep-alives")


@scenario
def escapes_made_visible(ctx):
    """A message with a title-setting OSC and a clear-screen CSI: RETR, TOP and show show the
    escapes as \\x1b, the screen is not cleared (the banner stays) and the title unchanged."""
    hostile = mw.message("esc1", subject="title \x1b]0;pwned\x07 here",
                         body="before \x1b[2J after\n\x1b[31mRED\x1b[0m\n")
    box = Pop3Mailbox([hostile] + messages(2)[1:])
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv)
        try:
            s.start()
            for typed in ("RETR 1", "TOP 1 5", "show 1"):
                screen = s.command(typed)
                check("Connected; type help" in screen, f"{typed}: the screen was not cleared:\n{screen}")
            screen = s.screen()
            check(screen.count("\\x1b") >= 6, f"the escapes are shown as \\x1b:\n{screen}")
            check("before \\x1b[2J after" in screen, f"the clear-screen CSI is visible text:\n{screen}")
            title = s.tmux("display-message", "-p", "#{pane_title}")
            check("pwned" not in title, f"the pane title was not set: {title!r}")
            s.keys("C-d")
            eq(s.exit_code(), 0, "exit code")
        finally:
            s.close()


@scenario
def terminal_goes_away(ctx):
    """The tmux server killed (the terminal hangs up) at the prompt after DELE 1: mailwrench
    leaves (RSET, QUIT) and the server deleted nothing."""
    box = Pop3Mailbox(messages())
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv)
        try:
            s.start()
            mark_first(s)
            check(s.pid is not None, "mailwrench's PID was found")
            s.tmux("kill-server")
            end = time.monotonic() + 5
            while s.alive() and time.monotonic() < end:
                time.sleep(0.05)
            check(not s.alive(), "mailwrench left after its terminal went away")
        finally:
            s.close()
        nothing_committed(srv, box, "DELE 1, then the terminal went away")
        check(srv.saw("RSET") and srv.saw("QUIT"), f"the terminal went away: RSET and QUIT were sent: {srv.received}")


@scenario
def sighup_at_prompt(ctx):
    """SIGHUP, twice as a hang-up brings it (kernel and terminal emulator), sent to mailwrench
    (its PID) at the prompt after DELE 1: "Leaving without deleting anything.", RSET and QUIT
    (the second SIGHUP does not cut them short), and the server deleted nothing."""
    box = Pop3Mailbox(messages())
    with ScriptedServer([], fallback=box) as srv:
        s = Session(ctx, srv)
        try:
            s.start()
            mark_first(s)
            check(s.pid is not None, "mailwrench's PID was found")
            os.kill(s.pid, signal.SIGHUP)
            os.kill(s.pid, signal.SIGHUP)
            code = s.exit_code()
            screen = s.screen()
        finally:
            s.close()
        check("Leaving without deleting anything." in screen, f"SIGHUP: leaves without deleting:\n{screen}")
        nothing_committed(srv, box, "DELE 1, then SIGHUP twice")
        check(srv.saw("RSET") and srv.saw("QUIT"), f"SIGHUP twice: RSET and QUIT were sent: {srv.received}")
        eq(code, 129, f"SIGHUP twice at the prompt: exit code (128 + SIGHUP, nothing deleted)\n{screen}")


if __name__ == "__main__":
    sys.exit(mw.main())
