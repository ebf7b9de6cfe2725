#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 17.6: logs for cron and systemd (--log-file PATH, --syslog, and their config keys).

  - a fetch with --log-file: one run line (ISO 8601 time, pid, command, account/user/server,
    exit code, the summary); the file is created 0600 and appended to by the next run
  - a failing login: one failure line (the error) and one run line (its exit code); the known
    password in none of them, not at -v either (the transcript stays on stderr)
  - a server that echoes the password and sends terminal escapes in its refusal: neither reaches
    the log raw
  - a log path that is a directory, or a symbolic link: exit 73 before any server contact,
    nothing fetched, the link's target untouched
  - log-file = PATH and syslog = yes in the config file
  - --syslog: with no /dev/log the run still succeeds; and, where a private mount namespace can
    be made (root, unshare), the datagram libc's syslog() sends to a /dev/log socket the test
    listens on: facility mail, ident mailwrench with the pid, the run line
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import mwtest as mw
from mwtest import check, eq, expect_ok, message, scenario

CANT_CREATE = 73
LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) mailwrench\[(\d+)\]: (.*)$")


def log_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def parsed(path: Path, res) -> list[tuple[str, int, str]]:
    out = []
    for line in log_lines(path):
        m = LINE.match(line)
        check(m is not None, f"log line without 'ISO-8601-TIME mailwrench[PID]: ': {line!r}", res)
        out.append((m.group(1), int(m.group(2)), m.group(3)))
    return out


def small_box(ctx, n, tag):
    return ctx.mailbox([message(f"{tag}{i:03d}", subject=f"{tag} {i}") for i in range(1, n + 1)], tag)


def fetch_args(ctx, log: Path | None = None) -> list[str]:
    args = ["--log-file", str(log)] if log else []
    return args + ["fetch", "--new", "--delete", "--state", str(ctx.scratch / "box.uids"), "-o",
                   f"maildir:{ctx.scratch}/md"]


def stored(ctx) -> int:
    md = ctx.scratch / "md"
    return sum(len(list((md / d).iterdir())) for d in ("new", "cur") if (md / d).is_dir())


@scenario
def fetch_run_line(ctx):
    box = small_box(ctx, 3, "logrun")
    log = ctx.scratch / "logs" / "mailwrench.log"
    log.parent.mkdir()
    old = os.umask(0)
    try:
        res = box.run(fetch_args(ctx, log))
    finally:
        os.umask(old)
    expect_ok(res, "fetch --log-file")
    eq(stat.S_IMODE(log.stat().st_mode), 0o600, "the log file's mode (created under umask 000)", res)
    lines = parsed(log, res)
    eq(len(lines), 1, f"lines in the log {log_lines(log)}", res)
    _, pid, text = lines[0]
    check(pid > 1, "a pid", res)
    for part in ("fetch", f"user={box.user}", f"server={ctx.env['host']}:{ctx.env['pop3s_port']}",
                 "exit 0", "stored 3 messages", "deleted 3"):
        check(part in text, f"the run line names {part!r}: {text!r}", res)
    eq(box.server_uids(), [], "fetched and deleted", res)
    # The next run appends.
    res2 = box.run(fetch_args(ctx, log))
    expect_ok(res2, "second fetch --log-file")
    lines = parsed(log, res2)
    eq(len(lines), 2, f"lines after a second run {log_lines(log)}", res2)
    check(lines[0][2] == text, "the first line kept", res2)
    check("exit 0: stored 0 messages" in lines[1][2] and lines[1][1] != pid, f"second run line {lines[1]}",
          res2)


@scenario
def failed_login_failure_line(ctx):
    box = small_box(ctx, 1, "logfail")
    wrong = "Wr0ng-" + os.urandom(4).hex() + "-pw"
    mw._SECRETS.insert(0, (wrong, "<the wrong password>"))
    log = ctx.scratch / "mailwrench.log"
    for extra in ([], ["-v"], ["-vv"]):
        res = ctx.run(box.conn() + extra + fetch_args(ctx, log), password=wrong, timeout=30)
        check(res.rc not in (0, CANT_CREATE), f"a wrong password: exit {res.rc}", res)
    lines = parsed(log, res)
    eq(len(lines), 6, f"two lines per run, three runs: {log_lines(log)}", res)
    for failure, run in (lines[0:2], lines[2:4], lines[4:6]):
        check(failure[2].startswith("fetch ") and ": error: " in failure[2],
              f"the failure line names the command and the error: {failure[2]!r}", res)
        check("auth" in failure[2].lower(), f"the failure line says the login failed: {failure[2]!r}", res)
        check(f"exit {res.rc}" in run[2] and f"user={box.user}" in run[2], f"the run line: {run[2]!r}", res)
        eq(failure[1], run[1], "one pid for both lines of a run", res)
    raw = log.read_bytes()
    check(wrong.encode() not in raw, "the password is in the log", res)
    for form in mw_secret_forms(box.user, wrong):
        check(form.encode() not in raw, f"a form of the password ({form!r}) is in the log", res)
    check(b"PASS" not in raw and b"AUTH " not in raw, "protocol transcript lines in the log", res)
    eq(stored(ctx), 0, "nothing stored", res)


@scenario
def mistakes_are_logged(ctx):
    """A cron job's mistake in its options is logged too (it was on stderr only, which cron may
    drop): an unknown option, an unknown command, a bad value, an account not in the config file,
    each with --log-file on the command line or log-file in the config file, and the mistakes
    of several accounts (--jobs, an account twice, a one-account command): a failure line naming
    the mistake and a run line with its exit code (64 or 78); no server contacted."""
    log = ctx.scratch / "mistakes.log"
    conf = ctx.scratch / "mailwrench.conf"
    conf.write_text(f"log-file = {log}\nhost = 127.0.0.1\n[account work]\nuser = alice\n")
    cases = [
        (["--log-file", str(log), "stat", "--frobnicate"], 64, "unknown option '--frobnicate'"),
        (["--log-file", str(log), "fecth"], 64, "unknown command 'fecth'"),
        (["--log-file", str(log), "--timeout", "soon", "stat"], 64, "timeout 'soon'"),
        (["--config", str(conf), "stat", "--frobnicate"], 64, "unknown option '--frobnicate'"),
        (["--config", str(conf), "-a", "wrok", "stat"], 78, "no [account wrok]"),
        (["--config", str(conf), "-a", "work", "--tls", "sometimes", "stat"], 64, "--tls 'sometimes'"),
        # Found before the options are parsed, in the several-accounts step: logged where the
        # command line without -a/--all-accounts/--jobs says (here the config file's top keys).
        (["--config", str(conf), "-a", "work", "-a", "work", "--jobs", "0", "stat"], 64, "invalid --jobs '0'"),
        (["--config", str(conf), "-a", "work", "-a", "work", "stat"], 64, "account 'work' is given twice"),
        (["--config", str(conf), "--all-accounts", "session"], 64, "'session' works with one account"),
    ]
    for n, (args, code, needle) in enumerate(cases, start=1):
        res = ctx.run(args, password="unused-" + os.urandom(3).hex())
        eq(res.rc, code, f"exit code of {args}", res)
        lines = parsed(log, res)
        eq(len(lines), 2 * n, f"two lines per run after {args}: {log_lines(log)}", res)
        failure, run = lines[-2][2], lines[-1][2]
        check(": error: " in failure and needle in failure, f"the failure line of {args} names "
              f"{needle!r}: {failure!r}", res)
        check(f"exit {code}" in run, f"the run line of {args}: {run!r}", res)
        eq(lines[-2][1], lines[-1][1], "one pid for both lines of a run", res)
    check(b"unused-" not in log.read_bytes(), "a password in the log", res)


def mw_secret_forms(user: str, password: str) -> list[str]:
    import base64
    b = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    return [b(password), b(f"\0{user}\0{password}")]


@scenario
def echoed_secret_and_escapes(ctx):
    """A server that quotes the password in its refusal, with an OSC title escape and a CR."""
    password = "Ech0-" + os.urandom(4).hex()
    mw._SECRETS.insert(0, (password, "<the echoed password>"))
    server = mw.ScriptedServer([
        mw.on(r"CAPA", mw.multiline("+OK", ["USER"]), times=None),
        mw.on(r"USER .*", "+OK", times=None),
        mw.on(r"PASS .*", f"-ERR \x1b]0;owned\x07 bad PASS {password}\r injected", times=None),
        mw.on(r"QUIT", mw.send("+OK bye", mw.close()), times=None)],
        greeting="+OK ready", unexpected="-ERR no")
    log = ctx.scratch / "mailwrench.log"
    try:
        res = ctx.run(["-H", "127.0.0.1", "-p", str(server.port), "--tls", "none", "--allow-plaintext",
                       "-u", "eve", "--auth", "user", "--timeout", "10", "--log-file", str(log), "stat"],
                      password=password, timeout=30)
    finally:
        server.close()
    check(res.rc != 0, "a refused login fails", res)
    raw = log.read_bytes()
    check(password.encode() not in raw, f"the echoed password is in the log: {raw!r}", res)
    check(b"\x1b" not in raw and b"\x07" not in raw and b"\r" not in raw,
          f"raw control characters in the log: {raw!r}", res)
    lines = parsed(log, res)
    eq(len(lines), 2, f"a failure line and a run line: {log_lines(log)}", res)
    check("<redacted>" in lines[0][2], f"the failure line shows where the password was: {lines[0][2]!r}", res)


@scenario
def log_path_directory(ctx):
    box = small_box(ctx, 2, "logdir")
    logdir = ctx.scratch / "adir"
    logdir.mkdir()
    res = box.run(fetch_args(ctx, logdir))
    mw.expect_error(res, CANT_CREATE, r"log", "--log-file naming a directory")
    check(str(logdir) in res.stderr, "the error names the path", res)
    eq(stored(ctx), 0, "nothing fetched", res)
    eq(box.server_uids(), box.uids, "nothing deleted", res)


@scenario
def log_path_symlink_refused(ctx):
    """A link planted at the log path (by whoever can write its directory) is not followed."""
    box = small_box(ctx, 1, "loglink")
    target = ctx.file("precious.txt", "keep me\n", mode=0o644)
    link = ctx.scratch / "mailwrench.log"
    link.symlink_to(target)
    res = box.run(fetch_args(ctx, link))
    mw.expect_error(res, CANT_CREATE, r"symbolic link", "--log-file naming a symbolic link")
    eq(target.read_text(), "keep me\n", "the link's target unchanged", res)
    eq(stat.S_IMODE(target.stat().st_mode), 0o644, "the link's target's mode unchanged", res)
    eq(stored(ctx), 0, "nothing fetched", res)
    eq(box.server_uids(), box.uids, "nothing deleted", res)
    # A directory that does not exist: the same clear error.
    res = box.run(fetch_args(ctx, ctx.scratch / "no" / "such" / "dir" / "log"))
    mw.expect_error(res, CANT_CREATE, r"log file", "--log-file in a missing directory")
    eq(stored(ctx), 0, "nothing fetched", res)


@scenario
def config_file_keys(ctx):
    box = small_box(ctx, 1, "logconf")
    log = ctx.scratch / "conf.log"
    config = ctx.file("config", f"log-file = {log}\nsyslog = yes\n")
    res = box.run(["--config", str(config)] + fetch_args(ctx))
    expect_ok(res, "fetch with log-file and syslog in the config file")
    lines = parsed(log, res)
    eq(len(lines), 1, f"the run line in the configured log {log_lines(log)}", res)
    check("exit 0" in lines[0][2] and "stored 1 message" in lines[0][2], f"run line {lines[0]}", res)
    bad = ctx.file("config2", f"log-file = {ctx.scratch}\n")
    res = box.run(["--config", str(bad), "stat"])
    mw.expect_error(res, CANT_CREATE, r"log", "log-file naming a directory in the config file")


@scenario
def syslog_without_dev_log(ctx):
    if os.path.exists("/dev/log"):
        raise mw.Skip("/dev/log exists here (the namespace scenario covers a listener)")
    res = ctx.run(ctx.conn() + ["--syslog", "stat"], user="alice")
    expect_ok(res, "stat --syslog with no syslog daemon")
    ctx.expect_stat(res)


@scenario
def syslog_datagram(ctx):
    """libc's syslog() writes to /dev/log: in a private mount namespace, /dev is a copy whose
    log is a datagram socket this test reads (the real spdlog sink and libc, nothing faked)."""
    if not mw.is_root() or shutil.which("unshare") is None:
        raise mw.Skip("needs root and unshare(1) for a private mount namespace")
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        raise mw.Skip("unshare -m is not permitted here")
    dev = ctx.scratch / "dev"
    dev.mkdir()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(dev / "log"))
    sock.settimeout(10)
    nodes = [n for n in ("null", "zero", "urandom", "random", "tty") if os.path.exists(f"/dev/{n}")]
    script = "set -e\n"
    for n in nodes:
        script += f"touch {dev}/{n}; mount --bind /dev/{n} {dev}/{n}\n"
    script += f'mount --bind {dev} /dev\nexec "$@"\n'
    wrong = "Sys-" + os.urandom(4).hex()
    mw._SECRETS.insert(0, (wrong, "<the wrong password>"))
    box = small_box(ctx, 1, "syslog")
    try:
        ctx.slowness()  # measured on mailwrench, before ctx.bin is unshare(1)
        env_bin = ctx.bin
        ctx.bin = shutil.which("unshare")
        try:
            res = ctx.run(["-m", "--propagation", "private", "sh", "-c", script, "sh", env_bin] + box.conn()
                          + ["--syslog", "stat"], password=box.password, timeout=30)
            bad = ctx.run(["-m", "--propagation", "private", "sh", "-c", script, "sh", env_bin] + box.conn()
                          + ["--syslog", "stat"], password=wrong, timeout=30)
        finally:
            ctx.bin = env_bin
        expect_ok(res, "stat --syslog in a namespace with a /dev/log listener")
        check(bad.rc not in (0, CANT_CREATE), f"a wrong password: exit {bad.rc}", bad)
        grams = []
        try:
            while True:
                sock.settimeout(2)
                grams.append(sock.recv(65536))
        except socket.timeout:
            pass
    finally:
        sock.close()
    eq(len(grams), 3, f"datagrams: a run line, then a failure and a run line: {grams}", res)
    # <PRI>: facility mail (2) * 8 + severity (info 6, err 3).
    run_ok, failure, run_bad = grams
    for g, severity in ((run_ok, 6), (failure, 3), (run_bad, 6)):
        m = re.match(rb"^<(\d+)>.*?mailwrench\[(\d+)\]: (.*)$", g, re.S)
        check(m is not None, f"a syslog datagram with ident mailwrench[pid]: {g!r}", res)
        eq(int(m.group(1)), 2 * 8 + severity, f"facility mail, severity {severity}: {g!r}", res)
    check(b"exit 0" in run_ok and b"stat " in run_ok, f"the run line: {run_ok!r}", res)
    check(b"error: " in failure, f"the failure line: {failure!r}", bad)
    check(all(wrong.encode() not in g for g in grams), "the password reached syslog", bad)


if __name__ == "__main__":
    sys.exit(mw.main())
