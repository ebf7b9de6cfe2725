#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 13.10 and 13.12: fetch and the lock another run holds.

10: the summary's seconds (plain and JSON) are the transfer's, measured from when the lock was
    taken: a --wait-lock wait is not transfer time.
12: with -q, a cron run that finds the lock busy prints nothing (exit 75 stays); without -q it
    still says so on stderr.
"""
from __future__ import annotations

import fcntl
import re
import sys
import threading
from pathlib import Path

import mwtest as mw
from mwtest import check, eq, expect_ok, message, scenario

LOCK_EXIT = 75
WAIT = 3.0  # how long the test holds the lock before it lets go


def small_box(ctx, n, tag):
    return ctx.mailbox([message(f"{tag}{i:03d}", subject=f"{tag} {i}") for i in range(1, n + 1)], tag)


def hold_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def held_for_a_while(ctx, state: Path):
    # Ctx.run's first slowness() reads the whole binary: not between taking the lock and the run.
    ctx.slowness()
    f = hold_lock(Path(str(state) + ".lock"))
    threading.Timer(WAIT, f.close).start()


@scenario
def wait_lock_seconds_json(ctx):
    box = small_box(ctx, 2, "waitjson")
    md, state = ctx.scratch / "md", ctx.scratch / "box.uids"
    held_for_a_while(ctx, state)
    res = box.run(["--json", "fetch", "--new", "--wait-lock", "20", "--state", str(state), "-o",
                   f"maildir:{md}"], timeout=40)
    expect_ok(res, "fetch --json --wait-lock 20 (lock freed after 3 s)")
    check(res.elapsed >= WAIT - 0.2, f"it waited for the lock (finished after {res.elapsed:.1f} s)", res)
    doc = res.json()
    eq(doc["count"], 2, "messages stored", res)
    check(doc["seconds"] < WAIT - 1.0,
          f"the JSON seconds ({doc['seconds']:.2f}) count the {WAIT:.0f} s wait for the lock", res)


@scenario
def wait_lock_seconds_plain(ctx):
    box = small_box(ctx, 2, "waitplain")
    md, state = ctx.scratch / "md", ctx.scratch / "box.uids"
    held_for_a_while(ctx, state)
    res = box.run(["fetch", "--new", "--wait-lock", "20", "--state", str(state), "-o", f"maildir:{md}"],
                  timeout=40)
    expect_ok(res, "fetch --wait-lock 20 (lock freed after 3 s)")
    check(res.elapsed >= WAIT - 0.2, f"it waited for the lock (finished after {res.elapsed:.1f} s)", res)
    m = re.search(r"\bin (\d+\.\d+) s\b", res.stdout)
    check(m is not None, "the summary line has no 'in N.NN s'", res)
    check(float(m.group(1)) < WAIT - 1.0, f"the summary's {m.group(1)} s count the wait for the lock", res)


@scenario
def quiet_lock_busy_prints_nothing(ctx):
    """The cron line: -q, another run holds the lock: exit 75, nothing on stdout or stderr."""
    box = small_box(ctx, 1, "quietlock")
    state = ctx.scratch / "box.uids"
    f = hold_lock(Path(str(state) + ".lock"))
    try:
        res = box.run(["fetch", "--new", "--delete", "--flush", "-q", "--state", str(state), "-o",
                       f"maildir:{ctx.scratch}/md"], timeout=20)
        loud = box.run(["fetch", "--new", "--state", str(state), "-o", f"maildir:{ctx.scratch}/md"],
                       timeout=20)
        waited = box.run(["-q", "fetch", "--new", "--wait-lock", "1", "--state", str(state), "-o",
                          f"maildir:{ctx.scratch}/md"], timeout=20)
        as_json = box.run(["-q", "--json", "fetch", "--new", "--state", str(state), "-o",
                           f"maildir:{ctx.scratch}/md"], timeout=20)
    finally:
        f.close()
    eq(res.rc, LOCK_EXIT, "fetch -q with the lock held: exit code", res)
    eq(res.stderr, "", "fetch -q with the lock held: stderr (a mail from cron)", res)
    eq(res.stdout, "", "fetch -q with the lock held: stdout", res)
    eq(waited.rc, LOCK_EXIT, "fetch -q --wait-lock 1 with the lock held: exit code", waited)
    eq(waited.stderr, "", "fetch -q --wait-lock 1 with the lock held: stderr", waited)
    # Without -q the line is still there; with --json the document still says what happened.
    mw.expect_error(loud, LOCK_EXIT, r"lock", "fetch (not quiet) with the lock held")
    eq(as_json.rc, LOCK_EXIT, "fetch -q --json with the lock held: exit code", as_json)
    check('"error"' in as_json.stdout or "lock" in as_json.stdout,
          "fetch -q --json with the lock held: the JSON error document", as_json)
    eq(box.server_uids(), box.uids, "nothing deleted", res)


@scenario
def quiet_other_errors_still_print(ctx):
    """-q silences lock contention only: a login failure still has its error line."""
    box = small_box(ctx, 1, "quietother")
    res = ctx.run(box.conn() + ["-q", "fetch", "--new", "--state", str(ctx.scratch / "s.uids"), "-o",
                                f"maildir:{ctx.scratch}/md"], password="not-the-password", timeout=30)
    check(res.rc not in (0, LOCK_EXIT), f"a wrong password: exit code {res.rc}", res)
    check(res.stderr_lines and mw.ERROR_LINE.match(res.stderr_lines[0]), "-q kept the error line of a login failure",
          res)


if __name__ == "__main__":
    sys.exit(mw.main())
