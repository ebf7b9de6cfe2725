#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 13, item 9: a reader of standard output that goes away (`| head -c 100`, `| head -1`)
is no error: mailwrench stops quietly with 141 (what a shell reports for a filter killed by
SIGPIPE) and no error or warning line. fetch -o - --new --delete into it deletes nothing and
records nothing for the message the reader did not read to its end, whether the message is
larger than the pipe's buffer (the write fails) or fits in it (the reader leaves with most of it
still in the buffer). Against the real Dovecot; fresh mailboxes (Ctx.mailbox) for --delete."""
import os
import subprocess
import sys
import time
from pathlib import Path

import mwtest as mw
from mwtest import check, eq, scenario, message

CLOSED_PIPE = 141


def run_into_reader(ctx, args, password, read: int | None, timeout: float = 60, hold: float = 0):
    """Runs mailwrench with stdout a pipe whose reader reads `read` octets and closes it (None:
    the reader is gone before mailwrench starts; hold: it keeps the pipe open, reading nothing
    more, until mailwrench ends or `hold` seconds passed). Returns (Result, octets read)."""
    env = ctx.base_env(None)
    env["MAILWRENCH_PASSWORD"] = password
    r, w = os.pipe()
    if read is None:
        os.close(r)
    argv = [ctx.bin] + args
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=w, stderr=subprocess.PIPE, env=env)
    os.close(w)
    got = b""
    if read is not None:
        with os.fdopen(r, "rb", buffering=0) as reader:
            while len(got) < read:
                chunk = reader.read(read - len(got))
                if not chunk:
                    break
                got += chunk
            if hold:
                try:
                    p.wait(timeout=hold)
                except subprocess.TimeoutExpired:
                    pass
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        mw.fail(f"mailwrench did not finish within {timeout} s (killed)",
                mw.Result(argv, None, "", err.decode(errors="replace"), time.monotonic() - t0))
    return mw.Result(argv, p.returncode, "", err.decode(errors="replace"), time.monotonic() - t0), got


def expect_quiet_141(res, what):
    eq(res.rc, CLOSED_PIPE, f"{what}: exit status", res)
    eq(res.stderr, "", f"{what}: stderr (a reader that goes away is no error)", res)


def closed_pipe_fetch(ctx, size: int):
    big = message("big", subject="Big", body=("x" * 99 + "\n") * (size // 100))
    other = message("other", subject="Other", body="second\n")
    box = ctx.mailbox([big, other], f"pipe{size}")
    before = box.server_uids()
    state = ctx.scratch / f"state-{size}"
    res, got = run_into_reader(ctx, box.conn() + ["fetch", "--new", "--delete", "--state", str(state),
                                                  "-o", "-", "1"], box.password, read=100)
    expect_quiet_141(res, f"fetch --new --delete -o - 1 ({size} octets) | head -c 100")
    eq(got, big[:100], "what the reader got", res)
    eq(box.server_uids(), before, "the messages on the server (nothing may be deleted)", res)
    recorded = state.read_text(errors="replace") if state.exists() else ""
    check(box.uid(1) not in recorded, "the message the reader did not read is recorded as fetched "
          f"in the state file:\n{recorded}", res)
    # The same message read to its end is fetched, recorded and deleted.
    res, got = run_into_reader(ctx, box.conn() + ["fetch", "--new", "--delete", "--state", str(state),
                                                  "-o", "-", "1"], box.password, read=len(big) + 1)
    eq(res.rc, 0, "fetch --new --delete -o - 1 read to its end: exit status", res)
    eq(got, big, "fetch -o - read to its end: the message", res)
    eq(box.server_uids(), before[1:], "read to its end: the message is deleted", res)


mw.add("fetch_delete_into_closed_pipe_large", closed_pipe_fetch, 2 << 20)
mw.add("fetch_delete_into_closed_pipe_small", closed_pipe_fetch, 4000)


@scenario
def fetch_delete_reader_that_stops_reading(ctx):
    """fetch --new --delete -o - 1 into a reader that reads 100 octets and then nothing (but
    stays): after --timeout (2 s) exit 75 with one error line; the message is neither deleted
    nor recorded."""
    msg = message("stalled", subject="Stalled", body="y" * 3000 + "\n")
    box = ctx.mailbox([msg], "pipestall")
    state = ctx.scratch / "state-stall"
    args = box.conn()[:-2] + ["--timeout", "2", "fetch", "--new", "--delete", "--state", str(state),
                              "-o", "-", "1"]
    res, got = run_into_reader(ctx, args, box.password, read=100, hold=30)
    mw.expect_error(res, 75, r"reader.*standard output|standard output.*read", "a reader that stops reading")
    eq(box.server_uids(), box.uids, "the messages on the server (nothing may be deleted)", res)
    recorded = state.read_text(errors="replace") if state.exists() else ""
    check(box.uid(1) not in recorded, f"the unread message is recorded in the state file:\n{recorded}", res)


@scenario
def list_and_top_into_closed_pipe(ctx):
    """list and top into a pipe whose reader is gone (`| head -1` after its line): 141, no
    error line."""
    for args in (["list"], ["top", "1", "--lines", "5"], ["--json", "list"]):
        res, _ = run_into_reader(ctx, ctx.conn() + args, ctx.password("alice"), read=None)
        expect_quiet_141(res, " ".join(args) + " into a closed pipe")


@scenario
def output_into_full_disk_is_an_error(ctx):
    """stat, list, top, --json list, --help and --version into a full disk (stdout /dev/full): exit 74 naming
    standard output, not 0 with an empty report (a cron job's `list --json > report.json`)."""
    env = ctx.base_env(None)
    env["MAILWRENCH_PASSWORD"] = ctx.password("alice")
    for args in (["stat"], ["list"], ["top", "1", "--lines", "5"], ["--json", "list"], ["--help"],
                 ["--version"]):
        argv = [ctx.bin] + ctx.conn() + args
        with open("/dev/full", "wb") as full:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE,
                               env=env, timeout=60)
        res = mw.Result(argv, p.returncode, "", p.stderr.decode(errors="replace"), 0)
        eq(res.rc, 74, " ".join(args) + " into /dev/full: exit status", res)
        check("standard output" in res.stderr and res.stderr.count("\n") == 1,
              " ".join(args) + " into /dev/full: one error line naming standard output", res)


if __name__ == "__main__":
    sys.exit(mw.main())
