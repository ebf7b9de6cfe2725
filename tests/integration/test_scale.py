#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 16: a large mailbox, seen from outside. Rows of `list` are written as their TOP n 0
reply ends (a pipe reads the first rows while a later TOP is still awaited, plain and JSON);
Ctrl-C during a long LIST or during the TOPs of `purge --all --yes` leaves at once (130) and
deletes nothing; a terminal shows "listing:" / "reading headers:" / "marking for deletion:"
while it waits and keeps no stale progress line after it, -q shows none; `purge --all --yes
-q` of 20,000 messages sends every DELE and QUIT in bounded memory. Against the scripted
Pop3Mailbox of tests/support.
"""
from __future__ import annotations

import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_error, expect_ok, fail, scenario  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer, ignore, on, pause  # noqa: E402
from terminal import TmuxTerminal  # noqa: E402

PASSWORD = "scale-Pa55-" + os.urandom(4).hex()
MIB = 1024  # KiB


# --------------------------------------------------------------------------- helpers

def hide_password():
    if all(secret != PASSWORD for secret, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (PASSWORD, "<password of the scripted server's user>"))


def pop3_args(srv: ScriptedServer, timeout: int = 20) -> list[str]:
    hide_password()
    return ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
            "-u", "scale", "--timeout", str(timeout)]


def msgs(count: int, tag: str) -> list[bytes]:
    return [mw.message(f"{tag}{i}", subject=f"{tag} subject {i}", body=f"body of {tag}{i}\n")
            for i in range(1, count + 1)]


def tiny(count: int) -> list[bytes]:
    """count minimal messages (a few header lines), built in bulk."""
    return [b"From: a@example.org\nSubject: t%d\n\nx\n" % i for i in range(1, count + 1)]


def reply_of(box: Pop3Mailbox, line: str) -> bytes:
    """What the mailbox answers to line (in a session of its own, nothing marked)."""
    r = box.session()(line)
    return r if isinstance(r, bytes) else r.encode() + b"\r\n"


class Slow:
    """A fallback: the mailbox, each VERB (TOP, DELE) answered `delay` seconds late."""

    def __init__(self, box: Pop3Mailbox, verb: str, delay: float):
        self.box, self.verb, self.delay = box, verb.upper() + " ", delay

    def session(self):
        inner = self.box.session()

        def handle(line: str):
            r = inner(line)
            if r is not None and line.upper().startswith(self.verb):
                return [pause(self.delay), r]
            return r
        return handle


def env_for(ctx) -> dict:
    env = ctx.base_env(None)
    env["MAILWRENCH_PASSWORD"] = PASSWORD
    return env


def spawn(ctx, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([ctx.bin] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env_for(ctx), start_new_session=True)


def finish(p: subprocess.Popen, timeout: float, early: bytes = b"") -> mw.Result:
    t0 = time.monotonic()
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        fail(f"mailwrench did not finish within {timeout} s (killed)",
             mw.Result(p.args, None, (early + out).decode(errors="replace"), err.decode(errors="replace"),
                       time.monotonic() - t0))
    return mw.Result(p.args, p.returncode, (early + out).decode(errors="replace"),
                     err.decode(errors="replace"), time.monotonic() - t0)


def read_until(p: subprocess.Popen, done, timeout: float) -> bytes:
    """Reads p's stdout (as it comes, unbuffered) until done(what was read) or timeout; returns
    what was read."""
    fd = p.stdout.fileno()
    got = b""
    end = time.monotonic() + timeout
    while not done(got):
        left = end - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], min(left, 0.1))
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            got += chunk
    return got


def wait_for(cond, timeout: float, what: str, p: subprocess.Popen):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        if p.poll() is not None:
            fail(f"{what}: mailwrench ended early", finish(p, 5))
        time.sleep(0.02)
    p.kill()
    fail(f"{what}: not reached within {timeout} s", finish(p, 5))


# =========================================================================== rows stream

STALLED = 40
COUNT = 50
HOLD = 5.0  # seconds the TOP of message STALLED is held back


def rows_stream(ctx, json_output: bool):
    """list --headers of 50 messages into a pipe; the server holds TOP 40 0's reply back for 5 s.
    While it waits, rows 1..39 (or, with --json, the document's start and the objects of
    messages 1..39) can be read from mailwrench's stdout; then it completes with all 50."""
    box = Pop3Mailbox(msgs(COUNT, "st"))
    late = reply_of(box, f"TOP {STALLED} 0")
    what = f"{'--json ' if json_output else ''}list --headers, TOP {STALLED} held back {HOLD:.0f} s"
    with ScriptedServer([on(rf"TOP {STALLED} 0", pause(HOLD), late)], fallback=box) as srv:
        args = pop3_args(srv) + (["--json"] if json_output else []) + ["list", "--headers"]
        p = spawn(ctx, args)
        t0 = time.monotonic()
        wait_for(lambda: srv.saw(rf"TOP {STALLED} 0"), 10, f"{what}: TOP {STALLED} sent", p)
        if json_output:
            last = f'"subject": "st subject {STALLED - 1}"'.encode()
            early = read_until(p, lambda got: last in got, HOLD - 1.5)
        else:
            early = read_until(p, lambda got: got.count(b"\n") >= STALLED - 1, HOLD - 1.5)
        waited = time.monotonic() - t0
        still_running = p.poll() is None
        res = finish(p, 20, early)
        srv.settle()
    expect_ok(res, what)
    check(res.elapsed + waited >= HOLD - 0.5, f"{what}: finished before the held reply was sent", res)
    check(still_running and waited < HOLD - 0.5,
          f"{what}: the first rows were not readable while TOP {STALLED} 0 was awaited "
          f"(read {len(early)} octets in {waited:.1f} s: {early[-300:]!r})", res)
    text = early.decode(errors="replace")
    if json_output:
        check(text.startswith('{\n  "messages": [\n    {'),
              f"{what}: the partial document does not start with the messages array: {text[:200]!r}", res)
        check('"number": 1,' in text and '"subject": "st subject 1"' in text,
              f"{what}: message 1's object is not in the partial output: {text[:600]!r}", res)
        # Not only what fills a stdio buffer: every object before the held one.
        check(f'"number": {STALLED - 1},' in text and f'"subject": "st subject {STALLED - 1}"' in text,
              f"{what}: message {STALLED - 1}'s object is not in the partial output "
              f"({len(text)} octets read, ending {text[-300:]!r})", res)
        check(f'"number": {STALLED},' not in text,
              f"{what}: message {STALLED}'s object was written before its TOP was answered", res)
        doc = res.json()
        eq([m["number"] for m in doc["messages"]], list(range(1, COUNT + 1)), f"{what}: numbers", res)
        eq(doc["count"], COUNT, f"{what}: count", res)
        eq(doc["messages"][STALLED - 1]["subject"], f"st subject {STALLED}", f"{what}: the held row", res)
    else:
        rows = text.splitlines()
        eq([r.split("\t")[0] for r in rows[:STALLED - 1]], [str(i) for i in range(1, STALLED)],
           f"{what}: the rows read while TOP {STALLED} 0 was awaited", res)
        check(all(r.endswith(f"\tst subject {r.split(chr(9))[0]}") for r in rows[:STALLED - 1]),
              f"{what}: the early rows lack their subjects: {rows[:3]}", res)
        check(not any(r.startswith(f"{STALLED}\t") for r in rows),
              f"{what}: row {STALLED} written before its TOP was answered", res)
        all_rows = res.stdout.splitlines()
        eq([r.split("\t")[0] for r in all_rows], [str(i) for i in range(1, COUNT + 1)],
           f"{what}: all rows", res)


mw.add("list_rows_stream_before_the_end", rows_stream, False)
mw.add("list_json_rows_stream_before_the_end", rows_stream, True)


# =========================================================================== Ctrl-C

def expect_interrupted(srv: ScriptedServer, box: Pop3Mailbox, res: mw.Result, elapsed: float, what: str,
                       dele: bool = False):
    expect_error(res, 130, r"interrupted by SIGINT", what)
    check(elapsed <= 2.5, f"{what}: took {elapsed:.1f} s to leave after SIGINT", res)
    verbs = srv.verbs()
    if not dele:
        check("DELE" not in verbs, f"{what}: DELE sent after SIGINT: {verbs[-10:]}", res)
    check("QUIT" not in verbs, f"{what}: QUIT sent (would commit deletions): {verbs[-10:]}", res)
    eq(box.committed_deletes, [], f"{what}: messages deleted", res)


def interrupt(ctx, srv: ScriptedServer, args: list[str], reached, what: str) -> tuple[mw.Result, float]:
    p = spawn(ctx, args)
    wait_for(reached, 15, f"{what}: reached", p)
    time.sleep(0.3)
    check(p.poll() is None, f"{what}: mailwrench ended before the signal")
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    res = finish(p, 10)
    elapsed = time.monotonic() - t0
    srv.settle()  # the server has read every line mailwrench sent
    return res, elapsed


@scenario
def ctrl_c_during_listing_deletes_nothing(ctx):
    """purge --all --yes; the LIST reply of 200,000 rows stops after 100,000 (the rest never
    comes); SIGINT then: 130 within ~2 s, 'interrupted by SIGINT', no DELE, no QUIT, nothing deleted."""
    half = 100_000
    box = Pop3Mailbox(tiny(4))  # the rest of the dialogue; LIST is scripted
    head = b"+OK\r\n" + b"".join(b"%d 120\r\n" % i for i in range(1, half + 1))
    what = "SIGINT during a LIST of 200,000 rows (purge --all --yes)"
    # ignore(): the server reads and records every later line (a DELE or QUIT would be seen)
    # but never sends the rest of the reply.
    with ScriptedServer([on(r"LIST", head, ignore())], fallback=box) as srv:
        res, elapsed = interrupt(ctx, srv, pop3_args(srv, 60) + ["purge", "--all", "--yes"],
                                 lambda: srv.saw("LIST"), what)
    expect_interrupted(srv, box, res, elapsed, what)


@scenario
def ctrl_c_during_headers_deletes_nothing(ctx):
    """purge --all --yes (not -q: TOP n 0 reads each message's headers) of 60 messages; TOP 30 0
    is never answered (the server goes on reading); SIGINT: 130 within ~2 s, no DELE, no QUIT,
    nothing deleted."""
    box = Pop3Mailbox(msgs(60, "ch"))
    what = "SIGINT while TOP 30 0 is awaited (purge --all --yes)"
    with ScriptedServer([on(r"TOP 30 0", ignore())], fallback=box) as srv:
        res, elapsed = interrupt(ctx, srv, pop3_args(srv, 60) + ["purge", "--all", "--yes"],
                                 lambda: srv.saw("TOP 30 0"), what)
    check(srv.saw("TOP 1 0"), f"{what}: no TOP was sent (headers not read?)", res)
    expect_interrupted(srv, box, res, elapsed, what)


@scenario
def ctrl_c_during_deletes_commits_nothing(ctx):
    """purge --all --yes -q of 60 messages; DELE 30 is never answered (the server goes on
    reading); SIGINT: 130 within ~2 s and no QUIT, so the DELEs already answered delete nothing."""
    box = Pop3Mailbox(tiny(60))
    what = "SIGINT while DELE 30 is awaited (purge --all --yes -q)"
    with ScriptedServer([on(r"DELE 30", ignore())], fallback=box) as srv:
        res, elapsed = interrupt(ctx, srv, pop3_args(srv, 60) + ["purge", "--all", "--yes", "-q"],
                                 lambda: srv.saw("DELE 30"), what)
    check(srv.saw("DELE 1"), f"{what}: DELE 1 was not sent", res)
    expect_interrupted(srv, box, res, elapsed, what, dele=True)


# =========================================================================== progress on a terminal

PROGRESS = re.compile(r"listing: \d+|reading UIDs: \d+|reading headers: \d+|marking for deletion")


def watch(ctx, srv: ScriptedServer, args: list[str], out: Path) -> tuple[int, list[str], int, str]:
    """mailwrench ARGS > out in a tmux window (stderr is the terminal), the screen read every
    50 ms. Returns the exit code, every distinct screen seen while it ran, how many times the
    screen was read, and the screen after it ended."""
    cmd = shlex.join([ctx.bin] + pop3_args(srv) + args)
    term = TmuxTerminal(ctx, f"{cmd} > {shlex.quote(str(out))}", password=PASSWORD, width=120)
    try:
        screens: list[str] = []
        polls = 0
        end = time.monotonic() + 30
        while time.monotonic() < end:
            s = term.screen()
            polls += 1
            if not screens or s != screens[-1]:
                screens.append(s)
            if term.rc.exists() and term.rc.read_text().strip():
                break
            time.sleep(0.05)
        code = term.exit_code()
        return code, screens, polls, term.screen()
    finally:
        term.close()


def progress_run(ctx, quiet: bool) -> tuple[int, list[str], int, str, str]:
    """list --headers [-q] of 30 messages on a terminal, stdout into out.txt; the LIST reply
    comes one row every 50 ms, each TOP 100 ms late. Returns watch()'s results and out.txt."""
    count = 30
    box = Pop3Mailbox(msgs(count, "pg"))
    list_rows = reply_of(box, "LIST").split(b"\r\n")
    # Status line at once, then one row every 50 ms (1.5 s in all), then the terminator.
    slow_list = [list_rows[0] + b"\r\n"]
    for row in list_rows[1:-2]:
        slow_list += [pause(0.05), row + b"\r\n"]
    slow_list += [b".\r\n"]
    out = ctx.scratch / "out.txt"
    with ScriptedServer([on(r"LIST", *slow_list)], fallback=Slow(box, "TOP", 0.1)) as srv:
        code, screens, polls, final = watch(ctx, srv, (["-q"] if quiet else []) + ["list", "--headers"], out)
    return code, screens, polls, final, out.read_text() if out.exists() else ""


@scenario
def progress_shows_while_listing(ctx):
    """On a terminal (stderr; stdout into a file), a slow LIST shows 'listing: N messages' and
    slow TOPs 'reading headers: N/30 messages (P%)' while they last; after the end the pane
    keeps no progress line; out.txt has all 30 rows."""
    what = "list --headers > out.txt on a terminal"
    code, screens, _, final, out = progress_run(ctx, quiet=False)
    seen = "\n---\n".join(screens)
    eq(code, 0, f"{what}: exit code")
    check(re.search(r"(?m)^listing: \d+ messages?\s*$", seen),
          f"{what}: 'listing: N messages' never shown while LIST came; screens:\n{seen[-3000:]}")
    check(re.search(r"(?m)^reading headers: \d+/30 messages \(\d+%\)\s*$", seen),
          f"{what}: 'reading headers: N/30 messages (P%)' never shown; screens:\n{seen[-3000:]}")
    check(not PROGRESS.search(final), f"{what}: a stale progress line is left on the screen:\n{final}")
    check(final.strip() == "", f"{what}: the screen after the end is not empty:\n{final}")
    rows = out.splitlines()
    eq([r.split("\t")[0] for r in rows], [str(i) for i in range(1, 31)], f"{what}: the rows in out.txt")
    check("\033" not in out and "reading" not in out, f"{what}: progress in the data: {out[:300]!r}")


@scenario
def progress_not_shown_with_quiet(ctx):
    """The same with -q: no progress line is ever drawn; out.txt still has all 30 rows."""
    what = "list --headers -q > out.txt on a terminal"
    code, screens, polls, final, out = progress_run(ctx, quiet=True)
    eq(code, 0, f"{what}: exit code")
    check(polls >= 10, f"{what}: the run was too short to watch (the screen read {polls} times)")
    shown = [s for s in screens if s.strip()]
    eq(shown, [], f"{what}: the terminal showed something")
    eq(len(out.splitlines()), 30, f"{what}: rows in out.txt")


@scenario
def progress_shows_while_marking(ctx):
    """purge --all --yes on a terminal (stdout into a file) of 30
    messages whose DELEs are each answered 100 ms late: the pane shows 'marking for deletion:
    N/30 messages (P%)' while they last and no progress line after the end; all 30 deleted."""
    box = Pop3Mailbox(msgs(30, "pd"))
    what = "purge --all --yes on a terminal, slow DELEs"
    with ScriptedServer([], fallback=Slow(box, "DELE", 0.1)) as srv:
        code, screens, _, final = watch(ctx, srv, ["purge", "--all", "--yes"], ctx.scratch / "out.txt")
        srv.settle()
    seen = "\n---\n".join(screens)
    eq(code, 0, f"{what}: exit code")
    check(re.search(r"(?m)^marking for deletion: \d+/30 messages \(\d+%\)\s*$", seen),
          f"{what}: 'marking for deletion: N/30 messages (P%)' never shown; screens:\n{seen[-3000:]}")
    check(not PROGRESS.search(final), f"{what}: a stale progress line is left on the screen:\n{final}")
    eq(box.committed_deletes, list(range(1, 31)), f"{what}: deleted at QUIT")


# =========================================================================== a large purge

def measured_purge(ctx, box: Pop3Mailbox, what: str) -> tuple[mw.Result, int, ScriptedServer]:
    with ScriptedServer([], fallback=box) as srv:
        res, peak = ctx.run_measured(pop3_args(srv, 30) + ["purge", "--all", "--yes", "-q"],
                                      password=PASSWORD, timeout=40)
        srv.settle()
    expect_ok(res, what)
    return res, peak, srv


@scenario
def purge_large_mailbox_bounded(ctx):
    """purge --all --yes -q of 20,000 tiny messages: every DELE (1..20000, once each), then
    QUIT, committed; exit 0; peak RSS at most 6 MiB above a 10-message purge's (~1 KB a message
    of state before issue 16 would be ~20 MiB more)."""
    n = 20_000
    what = f"purge --all --yes -q of {n} messages"
    box = Pop3Mailbox(tiny(n))
    t0 = time.monotonic()
    res, peak, srv = measured_purge(ctx, box, what)
    took = time.monotonic() - t0
    dele = srv.saw(r"DELE \d+")
    eq(len(dele), n, f"{what}: DELE commands sent", res)
    eq(sorted(int(d.split()[1]) for d in dele), list(range(1, n + 1)), f"{what}: the DELEs", res)
    verbs = srv.verbs()
    eq(verbs[-1], "QUIT", f"{what}: the last command", res)
    check("RETR" not in verbs and "TOP" not in verbs, f"{what}: RETR/TOP sent with -q", res)
    eq(box.committed_deletes, list(range(1, n + 1)), f"{what}: deleted at QUIT", res)
    print(f"  ({what}: {took:.1f} s, peak RSS {peak} KiB)")
    if not ctx.rss_checked(what):
        return
    base_box = Pop3Mailbox(tiny(10))
    _, base, _ = measured_purge(ctx, base_box, "purge --all --yes -q of 10 messages")
    eq(base_box.committed_deletes, list(range(1, 11)), "baseline purge: deleted", None)
    check(peak <= base + 6 * MIB,
          f"{what}: peak RSS {peak} KiB, more than 6 MiB above a 10-message purge's {base} KiB "
          f"({(peak - base) * 1024 // n} octets a message)", res)
    print(f"  ({what}: {peak - base} KiB above a 10-message purge)")


if __name__ == "__main__":
    mw.main()
