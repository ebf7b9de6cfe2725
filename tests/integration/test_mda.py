#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""fetch --output mda:COMMAND against Dovecot: Dovecot's own dovecot-lda delivering into another
user's Maildir, and scripts that fail for one message, exit 75 (EX_TEMPFAIL), hang, read nothing,
print on standard output, or are handed a hostile Return-Path. A message is deleted on the server
(--delete) and recorded (--new) only after its MDA exited 0.

Every scenario gets fresh users (Ctx.mailbox): alice, bob and carol are only read elsewhere."""
import json
import os
import re
import signal
import time
from pathlib import Path

import mwtest as mw
from mwtest import check, eq, expect_ok, scenario, message, message_id

LDA = "/usr/lib/dovecot/dovecot-lda"


def with_sender(sender: str, data: bytes) -> bytes:
    """The message as the final MTA stored it: a Return-Path line first."""
    return f"Return-Path: <{sender}>\n".encode() + data


def box_of(ctx, tag: str, n: int = 3, senders: list[str] | None = None) -> mw.Mailbox:
    senders = senders or [f"bounce-{i}@lists.example.net" for i in range(1, n + 1)]
    return ctx.mailbox([with_sender(senders[i - 1], message(f"{tag}{i}", body=f"body {i} of {tag}\n" * 50))
                        for i in range(1, n + 1)], tag)


def script(ctx, name: str, body: str) -> Path:
    """An executable sh script in the scratch directory."""
    return ctx.file(name, "#!/bin/sh\n" + body, mode=0o700)


def recorder(ctx, extra: str = "") -> tuple[Path, Path]:
    """A script that saves each message it is given as got/N (N counts calls, from 1) with its
    arguments in got/N.args, then runs `extra` (sh, with $msg the saved file): (script, got/)."""
    got = ctx.scratch / "got"
    got.mkdir()
    s = script(ctx, "mda.sh", f"""\
n=$(($(ls {got} | grep -c '\\.args$') + 1))
msg={got}/$n
printf '%s\\n' "$@" > "$msg.args"
cat > "$msg"
{extra}
""")
    return s, got


def received(got: Path) -> list[bytes]:
    calls = sorted((p for p in got.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    return [p.read_bytes() for p in calls]


def mids(messages: list[bytes]) -> list[str | None]:
    return [message_id(m) for m in messages]


def maildir_files(md: Path) -> list[bytes]:
    return [p.read_bytes() for sub in ("new", "cur") for p in sorted((md / sub).iterdir())]


@scenario
def mda_dovecot_lda(ctx):
    """Dovecot's dovecot-lda delivers each message into another user's Maildir; with --delete the
    source is empty afterwards, and the LDA was told each envelope sender by %F (its log says
    which, through deliver_log_format's %e), the null sender of a bounce too."""
    if not os.access(LDA, os.X_OK):
        raise mw.Skip(f"{LDA} is not installed (dovecot-core)")
    senders = ["bounce-1@lists.example.net", "", "o'brien@example.ie"]
    box = box_of(ctx, "lda", senders=senders)
    dest = ctx.mailbox([], "ldadest")
    # %A is the account: here a config file account named after the destination user; %% is a
    # % for Dovecot's own variables.
    command = (f"mda:{LDA} -c {ctx.dir}/dovecot.conf -d %A -f %F "
               f"-o 'deliver_log_format=mwtest envelope=<%%e> msgid=%%m: %%$'")
    cfg = ctx.file("config", f"[account {dest.user}]\nhost = {ctx.env['host']}\n")
    res = box.run(["--config", str(cfg), "-a", dest.user, "--json", "fetch", "--delete", "-o", command])
    expect_ok(res, "fetch --delete -o mda:dovecot-lda")
    doc = res.json()
    eq(doc["count"], 3, "messages delivered", res)
    eq(doc["deleted"], 3, "messages deleted", res)
    eq(doc["failed"], [], "failed", res)
    eq([s["path"] for s in doc["stored"]], [command] * 3, "where each went", res)
    eq(box.server_uids(), [], "the source mailbox after --delete", res)
    delivered = maildir_files(dest.maildir)
    eq(sorted(mids(delivered)), sorted(mids(box.messages)), "Message-IDs in the destination Maildir", res)
    for data in delivered:
        src = next(m for m in box.messages if message_id(m) == message_id(data))
        check(b"\r" not in data, "the MDA got LF line endings", res)
        check(data.endswith(src.split(b"\n\n", 1)[1]), "the body arrived unchanged", res)
    log = (ctx.dir / "log" / "dovecot.log").read_text(errors="replace")
    for data, sender in zip(box.messages, senders):
        mid = message_id(data)
        check(f"mwtest envelope=<{sender}> msgid={mid}: saved mail to INBOX" in log,
              f"dovecot-lda logged envelope sender {sender!r} for {mid}", res)
    # And Dovecot serves them to the destination user.
    eq(sorted(mid for _, _, mid in dest.server_listing(with_mids=True)), sorted(mids(box.messages)),
       "what the destination user sees over POP3", res)


@scenario
def mda_one_message_fails(ctx):
    """An MDA that fails for one message: the others are delivered, deleted and recorded; that one
    stays on the server, unrecorded, reported as failed; exit 1."""
    box = box_of(ctx, "fail", 4)
    mda, got = recorder(ctx, 'grep -q "^Message-ID: <fail2@" "$msg" && exit 1\nexit 0')
    state = ctx.scratch / "state"
    args = ["fetch", "--new", "--delete", "--state", str(state), "-o", f"mda:{mda} %F"]
    res = box.run(["--json"] + args)
    eq(res.rc, 1, "exit code (partial)", res)
    doc = res.json()
    eq([s["number"] for s in doc["stored"]], [1, 3, 4], "stored", res)
    eq([f["number"] for f in doc["failed"]], [2], "failed", res)
    check(re.search(r"MDA exited 1", doc["failed"][0]["reason"]), "the reason names the exit status", res)
    eq(doc["deleted"], 3, "deleted", res)
    eq(box.server_uids(), [box.uid(2)], "left on the server", res)
    eq(mids(received(got)), mids(box.messages), "the MDA was given every message, in order", res)
    for i, data in enumerate(received(got)):
        eq(data, box.messages[i], f"message {i + 1} as the MDA got it (LF, no From_ line)", res)
    args_of_1 = (got / "1.args").read_text()
    eq(args_of_1, "bounce-1@lists.example.net\n", "%F of message 1", res)
    recorded = state.read_text()
    for n in (1, 3, 4):
        check(box.uid(n) in recorded, f"the UID of message {n} is recorded", res)
    check(box.uid(2) not in recorded, "the failed message is not recorded", res)
    # The next run tries it again (and the MDA takes it this time).
    (ctx.scratch / "mda.sh").write_text("#!/bin/sh\ncat > /dev/null\n")
    res = box.run(args)
    expect_ok(res, "the next run")
    eq(box.server_uids(), [], "after the retry", res)


@scenario
def mda_tempfail_stops(ctx):
    """EX_TEMPFAIL (75) from the MDA: what it took before is deleted and recorded; that message
    and the rest stay on the server and are not given to it; mailwrench exits 75."""
    box = box_of(ctx, "temp", 4)
    mda, got = recorder(ctx, '[ "$n" = 2 ] && exit 75\nexit 0')
    state = ctx.scratch / "state"
    res = box.run(["--json", "fetch", "--new", "--delete", "--state", str(state), "-o", f"mda:{mda}"])
    eq(res.rc, 75, "exit code", res)
    doc = res.json()
    eq(doc["error"]["exit_code"], 75, "the JSON error", res)
    check(re.search(r"message 2.*75.*1 message was delivered", doc["error"]["message"]),
          "the error names the message and what was delivered", res)
    eq(len(received(got)), 2, "the MDA was not run again after it said 75", res)
    eq(box.server_uids(), [box.uid(n) for n in (2, 3, 4)], "left on the server", res)
    recorded = state.read_text()
    check(box.uid(1) in recorded and not any(box.uid(n) in recorded for n in (2, 3, 4)),
          "only message 1 is recorded", res)


@scenario
def mda_hangs(ctx):
    """A hung MDA is killed with what it started after --mda-timeout; that message and the rest
    stay on the server; exit 75 (a temporary failure: try later)."""
    box = box_of(ctx, "hang", 3)
    pids = ctx.scratch / "pids"
    mda, got = recorder(ctx, f'if [ "$n" = 2 ]; then sleep 300 & echo $! > {pids}; wait; fi\nexit 0')
    t0 = time.monotonic()
    res = box.run(["fetch", "--delete", "--mda-timeout", "2", "-o", f"mda:{mda}"], timeout=60)
    elapsed = time.monotonic() - t0
    mw.expect_error(res, 75, r"did not finish within 2 s.*killed", "a hung MDA")
    check(elapsed < 20, f"the run ended soon after the timeout ({elapsed:.1f} s)", res)
    eq(box.server_uids(), [box.uid(2), box.uid(3)], "left on the server", res)
    eq(len(received(got)), 2, "the MDA was not run for message 3", res)
    sleeper = int(pids.read_text())
    for _ in range(100):
        try:
            stat = Path(f"/proc/{sleeper}/stat").read_text()
        except FileNotFoundError:
            break
        if ") Z" in stat:
            break
        time.sleep(0.05)
    else:
        mw.fail(f"the MDA's child {sleeper} still runs", res)


@scenario
def mda_interrupted(ctx):
    """Ctrl-C (SIGINT) while an MDA runs reaches the MDA too (as it would in mpop's process
    group): mailwrench stops at once with 130, nothing is deleted."""
    box = box_of(ctx, "intr", 2)
    started = ctx.scratch / "started"
    pids = ctx.scratch / "pids"
    mda = script(ctx, "mda.sh", f"cat > /dev/null\nsleep 300 & echo $! > {pids}\ntouch {started}\nwait\n")
    p = ctx.popen(box.conn() + ["fetch", "--delete", "-o", f"mda:{mda}"], password=box.password)
    try:
        for _ in range(400):
            if started.exists() or p.poll() is not None:
                break
            time.sleep(0.05)
        check(started.exists(), "the MDA started")
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    res = mw.Result(["mailwrench", "fetch", "--delete", "-o", f"mda:{mda}"], p.returncode, out, err,
                    time.monotonic() - t0)
    eq(p.returncode, 130, "exit code after SIGINT", res)
    check(time.monotonic() - t0 < 10, "stopped at once", res)
    eq(box.server_uids(), box.uids, "nothing deleted", res)
    sleeper = int(pids.read_text())
    check(not Path(f"/proc/{sleeper}").exists() or ") Z" in Path(f"/proc/{sleeper}/stat").read_text(),
          "the MDA's child was stopped too", res)


@scenario
def mda_reads_nothing(ctx):
    """An MDA that exits 0 without reading its input (a discard rule) has taken the message:
    mailwrench is not killed by SIGPIPE, and --delete deletes it."""
    box = ctx.mailbox([with_sender("a@example.org", message(f"nothing{i}", size=3_000_000)) for i in range(2)],
                      "nothing")
    res = box.run(["--json", "fetch", "--delete", "-o", "mda:exit 0"])
    expect_ok(res, "an MDA that reads nothing")
    eq(res.json()["count"], 2, "count", res)
    eq(box.server_uids(), [], "deleted", res)


@scenario
def mda_stdout_kept_out_of_json(ctx):
    """What the MDA prints goes to standard error: stdout stays one JSON document. (And the
    password given to mailwrench in MAILWRENCH_PASSWORD is not in the MDA's environment.)"""
    box = box_of(ctx, "noisy", 2)
    res = box.run(["--json", "fetch", "-o", "mda:echo NOISE-OUT; echo NOISE-ERR >&2; cat >/dev/null; "
                                            "env | grep -q MAILWRENCH_PASSWORD && exit 9; exit 0"])
    expect_ok(res, "a noisy MDA")
    doc = res.json()
    eq(doc["count"], 2, "count", res)
    check(not {"NOISE-OUT", "NOISE-ERR"} & set(res.stdout.splitlines()), "nothing of the MDA on stdout", res)
    eq(res.stderr.count("NOISE-OUT"), 2, "the MDA's stdout on stderr", res)
    eq(res.stderr.count("NOISE-ERR"), 2, "the MDA's stderr on stderr", res)


HOSTILE = [
    "'; touch PWNED; echo '@evil.example",
    "\"; touch PWNED; echo \"@evil.example",
    "$(touch PWNED)@evil.example",
    "`touch PWNED`@evil.example",
    "x\\'$(touch PWNED)@evil.example",
    "a;touch PWNED|x&@evil.example",
]


@scenario
def mda_sender_shell_injection(ctx):
    """A hostile Return-Path is one argument whatever the quoting around %F, never shell syntax;
    %A is USER@HOST without an account; and MAILWRENCH_MDA_SENDER holds the same value."""
    box = box_of(ctx, "inject", len(HOSTILE), senders=HOSTILE)
    work = ctx.scratch / "work"
    work.mkdir()
    out = ctx.scratch / "out"
    out.mkdir()
    cmd = (f"cd {work} && n=$(ls {out} | wc -l) && "
           f"printf '[%%s]\\n' %F '%F' \"%F\" \"$MAILWRENCH_MDA_SENDER\" %A > {out}/$n && cat >/dev/null")
    res = box.run(["fetch", "--delete", "-o", f"mda:{cmd}"])
    expect_ok(res, "fetch with hostile senders")
    eq(sorted(os.listdir(work)), [], "files the shell was tricked into creating", res)
    lines = [(out / str(i)).read_text().splitlines() for i in range(len(HOSTILE))]
    for sender, got in zip(HOSTILE, lines):
        eq(got, [f"[{sender}]"] * 4 + [f"[{box.user}@{ctx.env['host']}]"], f"the arguments for {sender!r}", res)
    eq(box.server_uids(), [], "all delivered and deleted", res)


@scenario
def mda_usage(ctx):
    """An unknown placeholder or a missing command is a usage error before connecting."""
    res = ctx.run(["-H", "127.0.0.1", "-u", "x", "fetch", "-o", "mda:printf '%s' x"])
    mw.expect_error(res, 64, r"placeholder %s", "an unknown placeholder")
    res = ctx.run(["-H", "127.0.0.1", "-u", "x", "fetch", "-o", "mda:"])
    mw.expect_error(res, 64, r"command is missing", "mda: without a command")
    res = ctx.run(["-H", "127.0.0.1", "-u", "x", "fetch", "--mda-timeout", "0", "-o", "mda:cat"])
    mw.expect_error(res, 64, r"mda-timeout", "--mda-timeout 0")


if __name__ == "__main__":
    raise SystemExit(mw.main())
