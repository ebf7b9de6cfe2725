#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue #11, the process's own safety: closed or failing standard output (11.6), the password
command bounded and given no descriptors (11.8), no core dumps (11.14), INT/TERM/HUP during a
fetch (11.15), and the mbox dot-lock: a failed pid write (11.17), a lock as Postfix makes it
(11.18), a planted symbolic link (11.7).

The servers are the scripted ones of tests/support (they log anybody in); each scenario checks
the exit code, the one-line error, and that nothing was deleted on the server where it matters.
Scenarios that run mailwrench as another user (nobody) need root and are skipped without it.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_error, expect_ok, fail, scenario  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer, multiline, on, pause, pop3_wire, stall  # noqa: E402

EX_CANTCREAT, EX_IO, EX_TEMPFAIL = 73, 74, 75
PASSWORD = "proc-Pa55-" + os.urandom(4).hex()
CAPA = multiline("+OK capability list follows", ["USER", "UIDL", "TOP", "PIPELINING", "RESP-CODES"])
NOBODY = 65534
EARLIER = b"From old@example.org Thu Jan  1 00:00:00 2026\nSubject: earlier\n\nearlier body\n\n"


# --------------------------------------------------------------------------- helpers

def hide_password():
    if all(secret != PASSWORD for secret, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (PASSWORD, "<password of the scripted server's user>"))


def login() -> list:
    return [on(r"CAPA", CAPA, times=None), on(r"USER \S+", "+OK"), on(r"PASS .*", "+OK logged in")]


def msg(tag: str, lines: int = 50) -> bytes:
    return mw.message(tag, body=b"".join(b"%s line %06d of the body\n" % (tag.encode(), i)
                                          for i in range(lines)))


def pop3_args(srv: ScriptedServer, timeout: int = 10) -> list[str]:
    hide_password()
    return ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext",
            "-u", "proc", "--timeout", str(timeout)]


def env_for(ctx, home: Path | None = None, password: bool = True) -> dict:
    env = ctx.base_env(home)
    if password:
        env["MAILWRENCH_PASSWORD"] = PASSWORD
    return env


def spawn(ctx, args: list[str], *, env: dict, preexec=None, stdout=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen([ctx.bin] + args, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
                            env=env, preexec_fn=preexec, restore_signals=False)


def finish(p: subprocess.Popen, timeout: float = 40) -> mw.Result:
    t0 = time.monotonic()
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        fail(f"mailwrench did not finish within {timeout} s (killed)",
             mw.Result(p.args, None, (out or b"").decode(errors="replace"),
                       (err or b"").decode(errors="replace"), time.monotonic() - t0))
    return mw.Result(p.args, p.returncode, (out or b"").decode(errors="replace"),
                     (err or b"").decode(errors="replace"), time.monotonic() - t0)


def run(ctx, args: list[str], *, env: dict | None = None, preexec=None, stdout=subprocess.PIPE,
        timeout: float = 40) -> mw.Result:
    t0 = time.monotonic()
    res = finish(spawn(ctx, args, env=env or env_for(ctx), preexec=preexec, stdout=stdout), timeout)
    res.elapsed = time.monotonic() - t0
    return res


def expect_no_dele(srv: ScriptedServer, res: mw.Result, what: str):
    verbs = srv.verbs()
    check("DELE" not in verbs, f"{what}: the server received DELE: {verbs}", res)


def as_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def nobody_dir(ctx, name: str) -> Path:
    """A directory the user nobody owns (the scratch directory made searchable)."""
    if not mw.is_root():
        raise mw.Skip("running mailwrench as another user needs root")
    os.chmod(ctx.scratch, 0o755)
    d = ctx.scratch / name
    d.mkdir(mode=0o700)
    os.chown(d, NOBODY, NOBODY)
    return d


def wait_for(cond, timeout: float, what: str, p: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        if p is not None and p.poll() is not None:
            res = finish(p)
            fail(f"{what}: mailwrench ended early", res)
        time.sleep(0.05)
    if p is not None:
        p.kill()
        fail(f"{what}: not reached within {timeout} s", finish(p))
    fail(f"{what}: not reached within {timeout} s")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# =========================================================================== 11.6 standard output

@scenario
def closed_stdout_refuses_dash(ctx):
    """fetch --delete -o - with descriptor 1 closed: nothing may land on a file that took its
    place; 74, the message not deleted."""
    box = Pop3Mailbox([msg("so1")])
    state = ctx.scratch / "state.uids"
    with ScriptedServer(login(), fallback=box) as srv:
        res = run(ctx, pop3_args(srv) + ["fetch", "--delete", "--state", str(state), "-o", "-", "1"],
                  preexec=lambda: os.close(1), stdout=None)
        srv.settle()
    what = "fetch --delete -o - with standard output closed"
    expect_error(res, EX_IO, r"standard output", what)
    expect_no_dele(srv, res, what)
    lock = Path(str(state) + ".lock")
    if lock.exists():
        check(b"so1 line" not in lock.read_bytes(), f"{what}: the message went into the lock file", res)


@scenario
def failing_stdout_write(ctx):
    """fetch --delete -o - into /dev/full (every write fails, ENOSPC): 74, nothing deleted."""
    box = Pop3Mailbox([msg("sf1", 2000)])
    with ScriptedServer(login(), fallback=box) as srv, open("/dev/full", "wb") as full:
        res = run(ctx, pop3_args(srv) + ["fetch", "--delete", "--state", str(ctx.scratch / "st"),
                                         "-o", "-", "1"], stdout=full)
        srv.settle()
    what = "fetch --delete -o - into /dev/full"
    expect_error(res, EX_IO, r"standard output", what)
    expect_no_dele(srv, res, what)
    eq(box.committed_deletes, [], f"{what}: messages deleted", res)


# =========================================================================== 11.8 password command

@scenario
def password_command_timeout(ctx):
    """A --password-command that never ends: killed after --timeout 2 (its process group too),
    75 within 2-6 s."""
    pidfile = ctx.scratch / "helper.pid"
    with ScriptedServer(login(), fallback=Pop3Mailbox([msg("pt1")])) as srv:
        res = run(ctx, pop3_args(srv, timeout=2) + ["--password-command", f"echo $$ > {pidfile}; exec sleep 60",
                                                   "stat"], env=env_for(ctx, password=False), timeout=30)
        srv.settle()
    what = "a --password-command that sleeps 60 s, --timeout 2"
    expect_error(res, EX_TEMPFAIL, r"password.command.*(time|2 s)|time.*password.command", what)
    check(1.5 <= res.elapsed <= 6, f"{what}: took {res.elapsed:.1f} s", res)
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    check(not pid_alive(pid), f"{what}: the helper (pid {pid}) still runs", res)
    eq([v for v in srv.verbs() if v in ("USER", "PASS")], [], f"{what}: login commands sent", res)


@scenario
def password_command_lingering_child(ctx):
    """A helper that prints the password and leaves a child holding its standard output: the
    run goes on once the helper has exited; the helper runs before the fetch lock is taken and
    inherits no descriptor but 0, 1 and 2."""
    state = ctx.scratch / "state.uids"
    lock = Path(str(state) + ".lock")
    report, fds, sleeper = ctx.scratch / "lock-state", ctx.scratch / "fds", ctx.scratch / "sleeper.pid"
    probe = ctx.file("probe.py", "import os\n"
                              "for fd in range(3, 4096):\n"
                              "    try:\n"
                              "        print(fd, '->', os.readlink(f'/proc/self/fd/{fd}'))\n"
                              "    except OSError:\n"
                              "        pass\n")
    command = (f"python3 {probe} > {fds}; "
               f"if [ -e {lock} ] && ! flock -n {lock} true; then echo held; else echo free; fi > {report}; "
               f"echo {PASSWORD}; sleep 30 2>/dev/null & echo $! > {sleeper}")
    box = Pop3Mailbox([msg("pl1")])
    try:
        with ScriptedServer(login(), fallback=box) as srv:
            res = run(ctx, pop3_args(srv) + ["--password-command", command, "fetch", "--new", "--delete",
                                             "--state", str(state), "-o", f"mbox:{ctx.scratch}/out.mbox"],
                      env=env_for(ctx, password=False), timeout=25)
            srv.settle()
        what = "a --password-command whose child keeps its standard output open"
        expect_ok(res, what)
        check(res.elapsed < 10, f"{what}: took {res.elapsed:.1f} s (waited for the child)", res)
        eq(report.read_text().strip(), "free", f"{what}: the fetch lock while the helper ran", res)
        eq(fds.read_text().splitlines(), [], f"{what}: descriptors the helper inherited beyond 0-2", res)
    finally:
        if sleeper.exists():
            try:
                os.kill(int(sleeper.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


# =========================================================================== 11.14 core dumps

@scenario
def not_dumpable(ctx):
    """While it runs, mailwrench is not dumpable (its /proc entries belong to root although it
    runs as nobody) and its core size limit is 0."""
    home = nobody_dir(ctx, "nhome")
    report = home / "report"
    command = f"stat -c %u /proc/$PPID/status > {report}; grep 'core file' /proc/$PPID/limits >> {report}; echo pw"
    with ScriptedServer(login(), fallback=Pop3Mailbox([msg("nd1")])) as srv:
        res = run(ctx, pop3_args(srv) + ["--password-command", command, "stat"],
                  env=env_for(ctx, home=home, password=False), preexec=as_nobody)
        srv.settle()
    what = "the process running the --password-command"
    expect_ok(res, what)
    lines = report.read_text().splitlines()
    eq(lines[0].strip(), "0", f"{what}: owner of /proc/PID/status (not 65534: dumpable)", res)
    check(len(lines) > 1 and lines[1].split()[4:6] == ["0", "0"],
          f"{what}: core file size limit: {lines[1:]}", res)


# =========================================================================== 11.15 signals

def interrupted(ctx, target: str, sig: int, code: int):
    """A RETR stalls after 200 KB; the signal: exit `code`, the target exactly as before (the
    mbox its earlier content, no FILE.lock; no file in dir:/maildir:), no DELE, no QUIT."""
    big = msg("sg1", 12000)
    wire = pop3_wire(big)
    box = Pop3Mailbox([big])
    out = ctx.scratch / "out"
    if target == "mbox":
        out.mkdir()
        mbox = out / "inbox.mbox"
        mbox.write_bytes(EARLIER)
        spec = f"mbox:{mbox}"
    else:
        spec = f"{target}:{out}"
    name = signal.Signals(sig).name
    what = f"{name} during a RETR into {target}:"
    with ScriptedServer(login() + [on(r"RETR 1", b"+OK\r\n" + wire[:200_000], stall())], fallback=box) as srv:
        p = spawn(ctx, pop3_args(srv, timeout=30) + ["fetch", "--delete", "--state", str(ctx.scratch / "st"),
                                                     "-o", spec], env=env_for(ctx))
        wait_for(lambda: "RETR" in srv.verbs(), 15, f"{what} RETR sent", p)
        if target == "mbox":
            wait_for(lambda: mbox.stat().st_size > len(EARLIER), 15, f"{what} the mbox grows", p)
        else:
            time.sleep(1.0)
        p.send_signal(sig)
        res = finish(p, 20)
        srv.settle()
    expect_error(res, code, r"interrupted by " + name, what)
    check("nothing was deleted" in res.stderr, f"{what} the error does not say that nothing was deleted", res)
    verbs = srv.verbs()
    check("DELE" not in verbs and "QUIT" not in verbs, f"{what} commands after the signal: {verbs}", res)
    if target == "mbox":
        eq(mbox.read_bytes(), EARLIER, f"{what} the mbox", res)
        check(not Path(str(mbox) + ".lock").exists(), f"{what} the dot-lock was left", res)
    else:
        left = [str(f.relative_to(out)) for f in out.rglob("*") if f.is_file()] if out.exists() else []
        eq(left, [], f"{what} files left", res)


@scenario
def sigterm_mbox_after_one(ctx):
    """fetch --new --delete of two messages into an mbox; the second RETR stalls after 200 KB;
    SIGTERM: 143, the mbox holds its earlier content and the first message (complete, recorded
    in the state file), nothing of the second; no QUIT, so nothing deleted."""
    first, second = msg("sa1"), msg("sa2", 12000)
    box = Pop3Mailbox([first, second])
    out = ctx.scratch / "out"
    out.mkdir()
    mbox = out / "inbox.mbox"
    mbox.write_bytes(EARLIER)
    state = ctx.scratch / "st"
    what = "SIGTERM during the second RETR into mbox:"
    with ScriptedServer(login() + [on(r"RETR 2", b"+OK\r\n" + pop3_wire(second)[:200_000], stall())],
                        fallback=box) as srv:
        p = spawn(ctx, pop3_args(srv, timeout=30) + ["fetch", "--new", "--delete", "--state", str(state),
                                                     "-o", f"mbox:{mbox}"], env=env_for(ctx))
        wait_for(lambda: mbox.exists() and b"sa2 line" in mbox.read_bytes(), 15, f"{what} the second grows", p)
        p.send_signal(signal.SIGTERM)
        res = finish(p, 20)
        srv.settle()
    expect_error(res, 143, r"interrupted by SIGTERM.*stored 1 message", what)
    check("QUIT" not in srv.verbs(), f"{what} QUIT was sent: {srv.verbs()}", res)
    eq(box.committed_deletes, [], f"{what} messages deleted", res)
    data = mbox.read_bytes()
    check(data.startswith(EARLIER), f"{what} the earlier content changed", res)
    rest = data[len(EARLIER):]
    check(rest.startswith(b"From ") and rest.endswith(first + b"\n"),
          f"{what} after the earlier content, not exactly the first message: {rest[:200]!r}...{rest[-200:]!r}", res)
    check(b"sa2 line" not in data, f"{what} part of the second message is left", res)
    check(not Path(str(mbox) + ".lock").exists(), f"{what} the dot-lock was left", res)
    check(box.uids[0] in state.read_text(), f"{what} the first message is not recorded in the state file", res)


@scenario
def sigterm_at_quit(ctx):
    """fetch --new (no --delete) into an mbox; the server never answers QUIT; SIGTERM: 143, not
    a success; the message stays stored and recorded, the dot-lock is removed."""
    first = msg("sq1")
    box = Pop3Mailbox([first])
    mbox = ctx.scratch / "inbox.mbox"
    state = ctx.scratch / "st"
    what = "SIGTERM while waiting for the reply to QUIT"
    with ScriptedServer(login() + [on(r"QUIT", stall())], fallback=box) as srv:
        p = spawn(ctx, pop3_args(srv, timeout=30) + ["fetch", "--new", "--state", str(state),
                                                     "-o", f"mbox:{mbox}"], env=env_for(ctx))
        wait_for(lambda: "QUIT" in srv.verbs(), 15, f"{what}: QUIT sent", p)
        p.send_signal(signal.SIGTERM)
        res = finish(p, 20)
        srv.settle()
    expect_error(res, 143, r"interrupted by SIGTERM.*nothing was deleted", what)
    check(mbox.read_bytes().startswith(b"From ") and mbox.read_bytes().endswith(first + b"\n"),
          f"{what}: the mbox does not hold the message", res)
    check(not Path(str(mbox) + ".lock").exists(), f"{what}: the dot-lock was left", res)
    check(box.uids[0] in state.read_text(), f"{what}: the message is not recorded in the state file", res)


@scenario
def sighup_ignored_stays_ignored(ctx):
    """Started with SIGHUP ignored (nohup), a SIGHUP mid-RETR changes nothing: the fetch
    completes (0) with the whole message in the mbox."""
    big = msg("nh1", 12000)
    wire = pop3_wire(big)
    box = Pop3Mailbox([big])
    mbox = ctx.scratch / "inbox.mbox"
    what = "SIGHUP to a run started under nohup"
    rules = login() + [on(r"RETR 1", b"+OK\r\n" + wire[:200_000], pause(2), wire[200_000:] + b".\r\n")]
    with ScriptedServer(rules, fallback=box) as srv:
        p = spawn(ctx, pop3_args(srv) + ["fetch", "-o", f"mbox:{mbox}"], env=env_for(ctx),
                  preexec=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
        wait_for(lambda: mbox.exists() and mbox.stat().st_size > 0, 15, f"{what}: the mbox grows", p)
        p.send_signal(signal.SIGHUP)
        res = finish(p, 20)
        srv.settle()
    expect_ok(res, what)
    check(mbox.read_bytes().endswith(big + b"\n"), f"{what}: the message is not complete in the mbox", res)


mw.add("sigterm_mbox", interrupted, "mbox", signal.SIGTERM, 143)
mw.add("sigint_mbox", interrupted, "mbox", signal.SIGINT, 130)
mw.add("sighup_mbox", interrupted, "mbox", signal.SIGHUP, 129)
mw.add("sigterm_dir", interrupted, "dir", signal.SIGTERM, 143)
mw.add("sigint_maildir", interrupted, "maildir", signal.SIGINT, 130)


# =========================================================================== 11.17, 11.18, 11.7 dot-lock

def limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


@scenario
def dot_lock_pid_write_fails(ctx):
    """The pid cannot be written into the new FILE.lock (RLIMIT_FSIZE 0: EFBIG, as a full disk):
    73, and no FILE.lock is left to hold off later runs and delivery agents."""
    mbox = ctx.scratch / "inbox.mbox"
    mbox.write_bytes(EARLIER)
    with ScriptedServer(login(), fallback=Pop3Mailbox([msg("dl1")])) as srv:
        res = run(ctx, pop3_args(srv) + ["fetch", "-o", f"mbox:{mbox}"], preexec=limit_file_size)
        srv.settle()
    what = "the pid write into a new dot-lock fails"
    expect_error(res, EX_CANTCREAT, r"lock.*File too large.*lock was removed", what)
    check(not Path(str(mbox) + ".lock").exists(), f"{what}: {mbox}.lock was left", res)
    eq(mbox.read_bytes(), EARLIER, f"{what}: the mbox", res)
    expect_no_dele(srv, res, what)


def postfix_lock(ctx, age: int):
    """A dot-lock as Postfix's local(8) makes it (empty, mode 0, owned by root) and a run as
    nobody that cannot read it: a fresh one is held (75, naming the lock); one older than
    10 minutes (by its mtime) is stale and removed."""
    d = nobody_dir(ctx, "mail")
    mbox = d / "inbox.mbox"
    mbox.write_bytes(EARLIER)
    os.chown(mbox, NOBODY, NOBODY)
    lock = Path(str(mbox) + ".lock")
    lock.touch(mode=0o000)
    os.chmod(lock, 0)
    then = time.time() - age
    os.utime(lock, (then, then))
    with ScriptedServer(login(), fallback=Pop3Mailbox([msg("pf1")])) as srv:
        res = run(ctx, pop3_args(srv) + ["fetch", "-o", f"mbox:{mbox}"], env=env_for(ctx, home=d), preexec=as_nobody)
        srv.settle()
    if age < 600:
        what = "a fresh unreadable mode-0 dot-lock"
        expect_error(res, EX_TEMPFAIL, r"locked.*" + lock.name + r".*owned by root", what)
        check(lock.exists(), f"{what}: the lock was removed", res)
        eq(mbox.read_bytes(), EARLIER, f"{what}: the mbox", res)
    else:
        what = "a stale unreadable mode-0 dot-lock (20 minutes old)"
        expect_ok(res, what)
        check(not lock.exists(), f"{what}: the lock is still there", res)
        check(b"pf1 line" in mbox.read_bytes(), f"{what}: the message is not in the mbox", res)


mw.add("postfix_lock_fresh", postfix_lock, 0)
mw.add("postfix_lock_stale", postfix_lock, 1200)


@scenario
def dot_lock_symlink(ctx):
    """FILE.lock is a symbolic link planted to another file (old, so it would look stale): it is
    refused with one line (73), not followed, not removed; the victim is untouched."""
    mbox = ctx.scratch / "inbox.mbox"
    mbox.write_bytes(EARLIER)
    victim = ctx.scratch / "victim"
    victim.write_bytes(b"precious\n")
    then = time.time() - 3600
    os.utime(victim, (then, then))
    lock = Path(str(mbox) + ".lock")
    lock.symlink_to(victim)
    with ScriptedServer(login(), fallback=Pop3Mailbox([msg("sy1")])) as srv:
        res = run(ctx, pop3_args(srv) + ["fetch", "-o", f"mbox:{mbox}"])
        srv.settle()
    what = "a dot-lock that is a symbolic link"
    expect_error(res, EX_CANTCREAT, lock.name + r".*symbolic link", what)
    check(lock.is_symlink(), f"{what}: the link was removed", res)
    eq(victim.read_bytes(), b"precious\n", f"{what}: the file it points to", res)
    eq(mbox.read_bytes(), EARLIER, f"{what}: the mbox", res)


if __name__ == "__main__":
    sys.exit(mw.main())
