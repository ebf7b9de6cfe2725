#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 17.2: many accounts in one run.

`-a A -a B ...` and `--all-accounts` run each account as a child mailwrench (its own lock, state
and output), `--jobs N` up to N at once; plain output under a header per account, one summary
line per account on stderr, `--json` one array of the accounts' documents, the exit status the
worst of theirs. One account's failure never stops or corrupts another's. Refusals (64/78)
before anything runs; SIGTERM reaches every child and leaves none behind.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import mwtest as mw
from mwtest import check, eq, message, scenario

SUMMARY = re.compile(r"^(\S+): (ok|failed \((\d+): [^)]+\))$")


def account_config(ctx, accounts: list[tuple[str, dict]], top: dict | None = None) -> Path:
    """A config file: the fixture's server before any section, then one [account NAME] a row."""
    e = ctx.env
    lines = [f"host = {e['host']}", f"port = {e['pop3s_port']}", "tls = implicit",
             f"cacert = {e['ca']}", "timeout = 20"]
    lines += [f"{k} = {v}" for k, v in (top or {}).items()]
    for name, keys in accounts:
        lines += ["", f"[account {name}]"] + [f"{k} = {v}" for k, v in keys.items()]
    return ctx.file("config", "\n".join(lines) + "\n")


def password_file(ctx, name: str, password: str) -> Path:
    return ctx.file(f"pw-{name}", password + "\n")


def box_account(ctx, box, name: str, password: str | None = None) -> dict:
    return {"user": box.user,
            "password-file": password_file(ctx, name, password or box.password),
            "output": f"maildir:{ctx.scratch / ('md-' + name)}",
            "state": ctx.scratch / f"{name}.uids"}


def three_accounts(ctx, tag: str):
    """work and home: two fresh mailboxes; bad: a third with a wrong password."""
    work = ctx.mailbox([message(f"{tag}-w{i}", subject=f"work {i}") for i in range(3)], tag + "w")
    home = ctx.mailbox([message(f"{tag}-h{i}", subject=f"home {i}") for i in range(2)], tag + "h")
    bad = ctx.mailbox([message(f"{tag}-b0", subject="bad 0")], tag + "b")
    config = account_config(ctx, [("work", box_account(ctx, work, "work")),
                                  ("home", box_account(ctx, home, "home")),
                                  ("bad", box_account(ctx, bad, "bad", "not-the-password"))])
    return work, home, bad, config


def stored_ids(maildir: Path) -> set[str]:
    ids = set()
    for sub in ("new", "cur"):
        d = maildir / sub
        if d.is_dir():
            for f in d.iterdir():
                mid = mw.message_id(f.read_bytes())
                ids.add(mid)
    return ids


def summaries(res) -> dict[str, str]:
    found = {}
    for line in res.stderr.splitlines():
        m = SUMMARY.match(line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def expect_three(ctx, res, work, home, what: str):
    eq(res.rc, 77, f"{what}: the worst exit status (bad's authentication failure)", res)
    eq(stored_ids(ctx.scratch / "md-work"), {mw.message_id(m) for m in work.messages},
       f"{what}: work's Maildir holds work's messages only", res)
    eq(stored_ids(ctx.scratch / "md-home"), {mw.message_id(m) for m in home.messages},
       f"{what}: home's Maildir holds home's messages only", res)
    check(not (ctx.scratch / "md-bad" / "new").exists() or not stored_ids(ctx.scratch / "md-bad"),
          f"{what}: nothing stored for bad", res)
    s = summaries(res)
    eq(list(s), ["work", "home", "bad"], f"{what}: one summary line per account, in order", res)
    eq(s["work"], "ok", f"{what}: work's summary", res)
    eq(s["home"], "ok", f"{what}: home's summary", res)
    check(s["bad"].startswith("failed (77: "), f"{what}: bad's summary names 77", res)
    for name in ("work", "home", "bad"):
        check(re.search(rf"^==> {name} <==$", res.stdout, re.M),
              f"{what}: a header line for {name} on stdout", res)
    check(res.stdout.index("==> work <==") < res.stdout.index("==> home <==")
          < res.stdout.index("==> bad <=="), f"{what}: the accounts in the order given", res)
    check(re.search(r"^bad: mailwrench: error: .*auth", res.stderr, re.M | re.I),
          f"{what}: bad's own error line on stderr, named", res)


@scenario
def fetch_three_accounts(ctx):
    work, home, bad, config = three_accounts(ctx, "acc3")
    res = ctx.run(["--config", str(config), "fetch", "--new", "-a", "work", "-a", "home", "-a", "bad"],
                  timeout=60)
    expect_three(ctx, res, work, home, "fetch -a work -a home -a bad")
    eq(bad.server_uids(), bad.uids, "bad's messages are still on the server", res)
    # --new state is per account: a second run stores nothing more.
    again = ctx.run(["--config", str(config), "fetch", "--new", "-a", "work", "-a", "home"], timeout=60)
    eq(again.rc, 0, "the second run of work and home", again)
    eq(len(list((ctx.scratch / "md-work" / "new").iterdir())), 3, "work's --new state kept", again)


@scenario
def fetch_three_accounts_jobs(ctx):
    work, home, bad, config = three_accounts(ctx, "acc3j")
    res = ctx.run(["--config", str(config), "fetch", "--new", "--jobs", "2", "-a", "work", "-a", "home",
                   "-a", "bad"], timeout=60)
    expect_three(ctx, res, work, home, "fetch --jobs 2")


@scenario
def json_all_accounts(ctx):
    work, home, bad, config = three_accounts(ctx, "accjs")
    res = ctx.run(["--config", str(config), "--json", "list", "--all-accounts"], timeout=60)
    eq(res.rc, 77, "list --all-accounts --json: exit status", res)
    doc = res.json()
    check(isinstance(doc, list), "--json with several accounts: one array", res)
    eq([d.get("account") for d in doc], ["work", "home", "bad"], "the accounts in config order", res)
    eq(len(doc[0]["messages"]), 3, "work's listing", res)
    eq(len(doc[1]["messages"]), 2, "home's listing", res)
    eq(doc[2]["error"]["exit_code"], 77, "bad's element is its error document", res)
    eq([d.get("exit") for d in doc], [0, 0, 77], "each element's exit status", res)


@scenario
def busy_lock_one_account(ctx):
    work, home, bad, config = three_accounts(ctx, "acclk")
    lock = Path(str(ctx.scratch / "work.uids") + ".lock")
    f = open(lock, "a+")
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
        res = ctx.run(["--config", str(config), "fetch", "--new", "-a", "work", "-a", "home"], timeout=60)
    finally:
        f.close()
    eq(res.rc, 75, "work's lock held: the worst exit status is its 75", res)
    s = summaries(res)
    check(s.get("work", "").startswith("failed (75: "), "work's summary: the lock", res)
    eq(s.get("home"), "ok", "home ran", res)
    eq(stored_ids(ctx.scratch / "md-home"), {mw.message_id(m) for m in home.messages}, "home stored", res)
    check(not stored_ids(ctx.scratch / "md-work"), "nothing stored for work", res)


@scenario
def same_mailbox_twice(ctx):
    """Two accounts naming one mailbox (and one state): the lock lets one run at a time."""
    box = ctx.mailbox([message(f"acctwin{i}") for i in range(20)], "acctwin")
    keys = box_account(ctx, box, "one")
    config = account_config(ctx, [("one", keys), ("two", dict(keys))])
    res = ctx.run(["--config", str(config), "fetch", "--new", "--jobs", "2", "--all-accounts"], timeout=60)
    check(res.rc in (0, 75), f"exit status {res.rc}: ok, or the busy lock", res)
    eq(len(list((ctx.scratch / "md-one" / "new").iterdir())), 20, "every message stored once", res)


@scenario
def dead_port_one_account(ctx):
    work = ctx.mailbox([message("accdead-w0")], "accdeadw")
    dead = box_account(ctx, work, "dead")
    dead["port"] = mw.closed_port()
    config = account_config(ctx, [("work", box_account(ctx, work, "work")), ("dead", dead)])
    single = ctx.run(["--config", str(config), "-a", "dead", "stat"], timeout=60)
    check(single.rc in (69, 74, 75), "the single run of a dead port fails", single)
    res = ctx.run(["--config", str(config), "-a", "work", "-a", "dead", "stat"], timeout=60)
    eq(res.rc, single.rc, "several accounts: the dead port's status, as the single run gives", res)
    s = summaries(res)
    eq(s.get("work"), "ok", "work's summary", res)
    check(s.get("dead", "").startswith(f"failed ({single.rc}: "), "dead's summary", res)


@scenario
def large_output_no_deadlock(ctx):
    """Two accounts writing megabytes on stdout and stderr at once (fetch -o - -v): both pipes of
    every child are read as they fill, and each account's bytes come out whole, in order."""
    boxes = [ctx.mailbox([message(f"accbig{n}", size=3_000_000)], f"accbig{n}") for n in range(2)]
    config = account_config(ctx, [(f"big{n}", box_account(ctx, b, f"big{n}")) for n, b in enumerate(boxes)])
    res = ctx.run(["--config", str(config), "--jobs", "2", "--all-accounts", "-v", "fetch", "-o", "-"],
                  timeout=120)
    eq(res.rc, 0, "two accounts' megabytes through the pipes", res)
    res_bytes, _ = ctx.run_raw(["--config", str(config), "--jobs", "2", "--all-accounts", "fetch", "-o", "-"],
                               timeout=120)
    eq(res_bytes.rc, 0, "again, for the bytes", res_bytes)
    raw = _
    first, second = raw.index(b"==> big0 <==\n"), raw.index(b"==> big1 <==\n")
    check(first == 0 and second > first, "big0's block, then big1's", res_bytes)
    for n, box in enumerate(boxes):
        block = raw[first:second] if n == 0 else raw[second:]
        check(box.messages[0].replace(b"\n", b"\r\n") in block or box.messages[0] in block,
              f"big{n}'s message whole in its block ({len(block)} bytes)", res_bytes)


@scenario
def single_account_unchanged(ctx):
    work = ctx.mailbox([message("accone-w0")], "accone")
    config = account_config(ctx, [("work", box_account(ctx, work, "work"))])
    res = ctx.run(["--config", str(config), "-a", "work", "stat"], timeout=60)
    eq(res.rc, 0, "one account", res)
    check("==>" not in res.stdout and not summaries(res), "one account: no header, no summary", res)
    js = ctx.run(["--config", str(config), "-a", "work", "--json", "stat"], timeout=60)
    check(isinstance(js.json(), dict), "one account: one document, not an array", js)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def sigterm_scenario(ctx, jobs: str, sig: int, code: int):
    servers = [mw.FakeServer("silent"), mw.FakeServer("silent")]
    try:
        config = account_config(ctx, [(f"s{i}", {"host": "127.0.0.1", "port": s.port, "tls": "none",
                                                 "user": "u", "password-file": password_file(ctx, f"s{i}", "x"),
                                                 "allow-plaintext": "true"})
                                      for i, s in enumerate(servers)])
        env = mw.Ctx.base_env(ctx, None)
        p = subprocess.Popen([ctx.bin, "--config", str(config), "--jobs", jobs, "--all-accounts", "stat"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, start_new_session=True)
        deadline = time.monotonic() + 10
        want = int(jobs)
        kids = []
        while time.monotonic() < deadline:
            kids = children_of(p.pid)
            if len(kids) >= want and all(s.connections for s in servers[:want]):
                break
            time.sleep(0.05)
        check(len(kids) >= want, f"{want} child process(es) running (found {kids})")
        p.send_signal(sig)
        try:
            out, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            mw.fail("the parent did not end within 15 s of the signal")
        res = mw.Result(p.args, p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), 0)
        eq(res.rc, code, "exit status after the signal", res)
        time.sleep(0.2)
        left = [k for k in kids if alive(k)]
        eq(left, [], "no child process left behind", res)
    finally:
        for s in servers:
            s.close()


mw.add("sigterm_jobs_1", sigterm_scenario, "1", signal.SIGTERM, 143)
mw.add("sigterm_jobs_2", sigterm_scenario, "2", signal.SIGTERM, 143)
mw.add("sigint_jobs_2", sigterm_scenario, "2", signal.SIGINT, 130)


def prompt_scenario(ctx, jobs: str):
    """An account with no password source but the terminal: --jobs 1 asks for it there, as a
    single run does; --jobs 2 gives no account a terminal (prompts would mix), so that one
    fails with its "no terminal" error (78) and the other account is not disturbed."""
    from terminal import TmuxTerminal
    work = ctx.mailbox([message(f"accpr{jobs}-w0")], f"accprw{jobs}")
    ask = ctx.mailbox([message(f"accpr{jobs}-a0"), message(f"accpr{jobs}-a1")], f"accpra{jobs}")
    config = account_config(ctx, [("work", box_account(ctx, work, "work")),
                                  ("ask", {"user": ask.user})])
    out, err = ctx.scratch / "out.txt", ctx.scratch / "err.txt"
    command = (f"{os.path.abspath(ctx.bin)} --config {config} --jobs {jobs} --all-accounts stat "
               f">{out} 2>{err}")
    term = TmuxTerminal(ctx, command, password="")
    try:
        if jobs == "1":
            term.wait_for("Password for")
            term.keys(ask.password, "Enter")
            eq(term.exit_code(), 0, "--jobs 1: the account asked on the terminal, then ok")
            check("2 messages" in out.read_text(), f"ask's stat: {out.read_text()!r}")
        else:
            code = term.exit_code()
            check("Password for" not in term.screen(), "--jobs 2: no prompt on the terminal")
            eq(code, 78, "--jobs 2: the account with no password fails with 78")
            text = err.read_text()
            check(re.search(r"^ask: mailwrench: error: no password .*no terminal", text, re.M),
                  f"ask's own error line: {text!r}")
            check(re.search(r"^work: ok$", text, re.M), f"work ran: {text!r}")
    finally:
        term.close()


mw.add("prompt_jobs_1", prompt_scenario, "1")
mw.add("no_prompt_jobs_2", prompt_scenario, "2")


def refusal(ctx, args: list[str], code: int, pattern: str, config_text: str | None = "default"):
    e = ctx.env
    if config_text == "default":
        config_text = (f"host = {e['host']}\nport = {e['pop3s_port']}\ncacert = {e['ca']}\n"
                       "[account work]\nuser = alice\n[account home]\nuser = bob\n")
    argv = (["--config", str(ctx.file("config", config_text))] if config_text is not None else []) + args
    res = ctx.run(argv, timeout=30)
    mw.expect_error(res, code, pattern, " ".join(args))
    eq(len(res.stderr_lines), 1, "one line", res)
    check("==>" not in res.stdout, "nothing ran", res)


mw.add("refuse_session", refusal, ["-a", "work", "-a", "home", "session"], 64, r"session.*one account")
mw.add("refuse_send", refusal, ["-a", "work", "-a", "home", "send", "--to", "a@b.example", "--from",
                                "c@d.example", "--body", "x"], 64, r"send.*one account")
mw.add("refuse_state", refusal, ["-a", "work", "-a", "home", "fetch", "--new", "--state", "/tmp/x.uids"],
       64, r"--state")
mw.add("refuse_unknown_account", refusal, ["-a", "work", "-a", "hom", "stat"], 64,
       r"no \[account hom\].*did you mean 'home'")
mw.add("refuse_jobs_0", refusal, ["-a", "work", "-a", "home", "--jobs", "0", "stat"], 64, r"--jobs")
mw.add("refuse_jobs_word", refusal, ["--jobs", "two", "-a", "work", "-a", "home", "stat"], 64, r"--jobs")
mw.add("refuse_all_no_config", refusal, ["--all-accounts", "stat"], 78, r"config file", None)
mw.add("refuse_all_no_sections", refusal, ["--all-accounts", "stat"], 78, r"no \[account",
       "host = localhost\n")
mw.add("refuse_uid_file_stdin", refusal, ["-a", "work", "-a", "home", "list", "--uid-file", "-"], 64,
       r"--uid-file -")


if __name__ == "__main__":
    sys.exit(mw.main())
