#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Nothing lost, nothing clobbered (issue 11, items 1, 2, 3, 5, 7, 10): the identities that the
promises "fetch --delete deletes only what is safely stored" and "purge deletes only what was
selected" rest on, broken on purpose.

  * a stored copy is named after its UID, and UIDs repeat: two mailboxes archived to one dir:
    folder, one server that lists a UID twice (real Dovecot gives two mailboxes first opened in
    the same second the same UIDs);
  * the --new state belongs to one mailbox: an [account default] must not lend it to a run whose
    -H/-p/-u name another one, and a state file from another mailbox is refused;
  * a UID with a byte >= 0x80 costs that one message, never every later run;
  * state, journal, lock and temporary files are never followed through a planted symlink;
  * --max-size holds against a RETR longer than LIST said.

Scenarios that change a mailbox make their own (Ctx.mailbox); the hostile ones use the scripted
server of tests/support.
"""
from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, expect_error, expect_ok, scenario, message, message_id  # noqa: E402
from scripted_server import Pop3Mailbox, ScriptedServer  # noqa: E402

EX_DATA, EX_CANTCREAT, EX_PROTOCOL, EX_CONFIG = 65, 73, 76, 78
PASSWORD = "store-Pa55-" + os.urandom(4).hex()


# --------------------------------------------------------------------------- helpers

def hide_password():
    if all(secret != PASSWORD for secret, _ in mw._SECRETS):
        mw._SECRETS.insert(0, (PASSWORD, "<password of the scripted server's user>"))


def fake_args(srv: ScriptedServer, user: str = "fake") -> list[str]:
    hide_password()
    return ["-H", "127.0.0.1", "-p", str(srv.port), "--tls", "none", "--allow-plaintext", "-u", user,
            "--timeout", "10"]


def run_fake(ctx, srv: ScriptedServer, args: list[str], **kw) -> mw.Result:
    res = ctx.run(fake_args(srv) + args, password=PASSWORD, timeout=40, **kw)
    srv.settle()
    return res


def body(tag: str, lines: int = 20) -> bytes:
    return b"".join(b"%s line %04d of the body\n" % (tag.encode(), i) for i in range(lines))


def eml_files(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.name.endswith(".eml")) if d.exists() else []


def contents(files: list[Path]) -> list[bytes]:
    return sorted(p.read_bytes() for p in files)


def expect_deleted_only_stored(box: Pop3Mailbox, on_disk: list[bytes], res: mw.Result, what: str):
    lost = [n for n in box.committed_deletes if box.messages[n - 1] not in on_disk]
    eq(lost, [], f"{what}: messages deleted on the server whose bytes are not on disk", res)


# =========================================================================== 1: dir: never clobbers

@scenario
def dir_two_mailboxes_equal_uids(ctx):
    """Two accounts archived to one dir: folder, with --delete. Dovecot gives both the same UIDs;
    the second run must keep the first run's files (a distinct name for different bytes), so every
    message deleted on either server has its own copy on disk."""
    a, b = mw.mailboxes_with_equal_uids(ctx, "dirtwo", 3)
    out = ctx.scratch / "archive"
    # The same messages fetched again (a re-run) are the copies already there: not stored twice.
    for run in (1, 2):
        res = a.run(["fetch", "-o", f"dir:{out}"])
        expect_ok(res, f"fetch {run} of account A into dir:")
        eq(contents(eml_files(out)), sorted(a.messages), f"the folder after fetch {run} of A", res)
    res = a.run(["fetch", "--delete", "-o", f"dir:{out}"])
    expect_ok(res, "fetch --delete, account A, into dir:")
    res = b.run(["fetch", "--delete", "-o", f"dir:{out}"])
    expect_ok(res, "fetch --delete, account B (same UIDs), into the same dir:")
    eq(a.server_uids() + b.server_uids(), [], "both mailboxes after fetch --delete", res)
    eq(contents(eml_files(out)), sorted(a.messages + b.messages),
       "the archive folder holds every message of both accounts exactly once", res)


@scenario
def dir_duplicate_uid_on_one_server(ctx):
    """A server lists one UID for two different messages: fetch --delete into dir: keeps both
    (distinct names) and deletes only messages whose own bytes are on disk."""
    m1, m2, m3 = (message(f"dupdir{i}", body=body(f"d{i}")) for i in (1, 2, 3))
    box = Pop3Mailbox([m1, m2, m3], uids=["same", "same", "other"])
    out = ctx.scratch / "out"
    with ScriptedServer([], fallback=box) as srv:
        res = run_fake(ctx, srv, ["fetch", "--delete", "-o", f"dir:{out}"])
    on_disk = contents(eml_files(out))
    expect_deleted_only_stored(box, on_disk, res, "fetch --delete, UID 'same' twice")
    expect_ok(res, "fetch --delete with a repeated UID into dir:")
    eq(on_disk, sorted([m1, m2, m3]), "dir: holds both messages with UID 'same'", res)
    names = [p.name for p in eml_files(out)]
    check("same.eml" in names and len(names) == 3, f"file names {names}", res)


@scenario
def dir_existing_file_differs(ctx):
    """A file of another origin already has the name a message would get: it is never replaced."""
    out = ctx.scratch / "out"
    out.mkdir(mode=0o700)
    (out / "u1.eml").write_bytes(b"Subject: someone else's\n\nkeep me\n")
    m1 = message("exists1", body=body("e1"))
    box = Pop3Mailbox([m1], uids=["u1"])
    with ScriptedServer([], fallback=box) as srv:
        res = run_fake(ctx, srv, ["fetch", "--delete", "-o", f"dir:{out}"])
    expect_ok(res, "fetch --delete into a dir: with a different u1.eml")
    eq((out / "u1.eml").read_bytes(), b"Subject: someone else's\n\nkeep me\n", "the earlier u1.eml", res)
    eq(contents(eml_files(out)), sorted([m1, b"Subject: someone else's\n\nkeep me\n"]),
       "both the earlier file and the message", res)


# =========================================================================== 2: one UID twice

@scenario
def purge_ambiguous_uid_refused(ctx):
    """purge --uid X where the server gives two messages the UID X: refused (65), both numbers
    named, no DELE sent; by number it works."""
    m1, m2, m3 = (message(f"ambig{i}") for i in (1, 2, 3))
    box = Pop3Mailbox([m1, m2, m3], uids=["twice", "u2", "twice"])
    with ScriptedServer([], fallback=box) as srv:
        res = run_fake(ctx, srv, ["purge", "--uid", "twice", "--yes"])
        expect_error(res, EX_DATA, r"twice.*\b1\b.*\b3\b", "purge --uid of a UID two messages have")
        check("DELE" not in srv.verbs(), f"purge --uid (ambiguous): the server saw {srv.verbs()}", res)
        eq(box.committed_deletes, [], "purge --uid (ambiguous): deleted", res)
        res = run_fake(ctx, srv, ["purge", "3", "--yes"])
        expect_ok(res, "purge 3 (by number)")
        eq(box.committed_deletes, [3], "purge 3: deleted", res)


@scenario
def fetch_ambiguous_uid_refused(ctx):
    """fetch --delete --uid X, X repeated: refused (65), nothing stored, nothing deleted."""
    m1, m2 = message("ambf1"), message("ambf2")
    box = Pop3Mailbox([m1, m2], uids=["twice", "twice"])
    md = ctx.scratch / "md"
    with ScriptedServer([], fallback=box) as srv:
        res = run_fake(ctx, srv, ["fetch", "--delete", "--uid", "twice", "-o", f"maildir:{md}"])
    expect_error(res, EX_DATA, r"twice.*\b1\b.*\b2\b", "fetch --delete --uid of a repeated UID")
    eq(box.committed_deletes, [], "fetch --uid (ambiguous): deleted", res)


# =========================================================================== 3: whose state

def account_config(ctx, box: mw.Mailbox, name: str = "default") -> Path:
    e = ctx.env
    return ctx.file(f"config-{name}", f"[account {name}]\nhost = {e['host']}\nport = {e['pop3s_port']}\n"
                                      f"tls = implicit\nuser = {box.user}\ncacert = {e['ca']}\n")


@scenario
def state_not_lent_by_default_account(ctx):
    """An [account default] names mailbox A; a run with -u B (the same server) must not use A's
    --new state: B's messages with UIDs that A's state lists are neither skipped nor deleted."""
    a, b = mw.mailboxes_with_equal_uids(ctx, "lend", 3)
    cfg = account_config(ctx, a)
    md_a, md_b = ctx.scratch / "md-a", ctx.scratch / "md-b"
    res = ctx.run(["--config", str(cfg), "fetch", "--new", "-o", f"maildir:{md_a}"], password=a.password)
    expect_ok(res, "fetch --new, account default (A)")
    res = ctx.run(["--config", str(cfg), "-u", b.user, "fetch", "--new", "--delete", "-o", f"maildir:{md_b}"],
                  password=b.password)
    expect_ok(res, "fetch --new --delete with -u B overriding the default account")
    stored_b = sorted(p.read_bytes() for p in (md_b / "new").iterdir()) if (md_b / "new").exists() else []
    eq(stored_b, sorted(b.messages), "B's messages stored (none skipped as 'already stored')", res)
    eq(b.server_uids(), [], "B after fetch --new --delete", res)
    eq(a.server_uids(), a.uids, "A is untouched", res)


@scenario
def state_of_another_mailbox_refused(ctx):
    """--state FILE written for mailbox A, used for mailbox B: exit 78, one line, nothing done."""
    a, b = mw.mailboxes_with_equal_uids(ctx, "other", 2)
    state = ctx.scratch / "shared.uids"
    res = a.run(["fetch", "--new", "--state", str(state), "-o", f"maildir:{ctx.scratch / 'md-a'}"])
    expect_ok(res, "fetch --new for A")
    before = state.read_bytes()
    check(a.user.encode() in before, f"the state file records its mailbox: {before[:200]!r}", res)
    res = b.run(["fetch", "--new", "--delete", "--state", str(state), "-o", f"maildir:{ctx.scratch / 'md-b'}"])
    expect_error(res, EX_CONFIG, r"state.*" + re.escape(a.user), "fetch --new with A's state file for B")
    eq(b.server_uids(), b.uids, "B after the refused run", res)
    eq(state.read_bytes(), before, "the state file after the refused run", res)


@scenario
def new_delete_keeps_what_earlier_runs_stored(ctx):
    """fetch --new --delete deletes only what this run stored; --flush also deletes what the state
    says earlier runs stored."""
    box = ctx.mailbox([message(f"flush{i}") for i in range(3)], "flush")
    md, state = ctx.scratch / "md", ctx.scratch / "box.uids"
    res = box.run(["fetch", "--new", "--state", str(state), "-o", f"maildir:{md}"])
    expect_ok(res, "fetch --new")
    box.deliver([message("flush-late")])
    res = box.run(["fetch", "--new", "--delete", "--state", str(state), "-o", f"maildir:{md}"])
    expect_ok(res, "fetch --new --delete")
    eq(box.server_uids(), box.uids[:3], "after --new --delete: only the message this run stored is gone", res)
    res = box.run(["fetch", "--new", "--flush", "--state", str(state), "-o", f"maildir:{md}"])
    expect_ok(res, "fetch --new --flush")
    eq(box.server_uids(), [], "after --new --flush: the messages earlier runs stored are gone", res)
    eq(len(list((md / "new").iterdir())), 4, "every message once on disk", res)
    res = box.run(["fetch", "--flush", "-o", f"maildir:{md}"])
    expect_error(res, 64, r"--flush.*--new", "--flush without --new")


# =========================================================================== 5: a UID >= 0x80

@scenario
def uid_with_8bit_byte_costs_one_message(ctx):
    """UIDL gives one message a UID with a byte >= 0x80 (RFC 1939: 0x21-0x7E only): fetch --new
    fails that message (exit 1, named), stores the others; the next run works the same way (the
    state file stays readable) and refetches nothing."""
    m1, m2, m3 = (message(f"eightbit{i}") for i in (1, 2, 3))
    box = Pop3Mailbox([m1, m2, m3], uids=["ok-1", "caf\u00e9", "ok-3"])
    md, state = ctx.scratch / "md", ctx.scratch / "s.uids"
    args = ["--json", "fetch", "--new", "--delete", "--state", str(state), "-o", f"maildir:{md}"]
    port = 0
    for run in (1, 2):
        with ScriptedServer([], fallback=box, port=port) as srv:
            port = srv.port
            res = run_fake(ctx, srv, args)
        eq(res.rc, 1, f"run {run}: exit status (one message failed)", res)
        doc = res.json()
        eq([f["number"] for f in doc["failed"]], [2], f"run {run}: failed messages", res)
        stored = sorted(p.read_bytes() for p in (md / "new").iterdir())
        eq(stored, sorted([m1, m3]), f"run {run}: stored", res)
        check(2 not in box.committed_deletes, f"run {run}: message 2 deleted", res)
        box = Pop3Mailbox([m1, m2, m3], uids=["ok-1", "caf\u00e9", "ok-3"])
    state.read_text(encoding="ascii")


# =========================================================================== 7: symlinks

@scenario
def state_files_never_follow_symlinks(ctx):
    """A symlink planted where the state file, its journal, its lock or its temporary file will be:
    refused with one error line (73), the link's target untouched, nothing deleted."""
    victim = ctx.scratch / "victim"
    for what in ("state", "journal", "lock", "tmp"):
        m1 = message(f"link-{what}")
        box = Pop3Mailbox([m1], uids=[f"u-{what}"])
        victim.write_bytes(b"precious\n")
        sdir = ctx.scratch / f"s-{what}"
        sdir.mkdir(mode=0o700)
        state = sdir / "box.uids"
        link = {"state": state, "journal": Path(f"{state}.journal"), "lock": Path(f"{state}.lock"),
                "tmp": None}[what]
        if link is None:
            # The temporary file's name has our pid: plant links for every pid a run may get.
            link = sdir / "box.uids.tmp-x"
            for pid in range(os.getpid(), os.getpid() + 200):
                os.symlink(victim, sdir / f"box.uids.tmp-{pid}")
        else:
            os.symlink(victim, link)
        with ScriptedServer([], fallback=box) as srv:
            res = run_fake(ctx, srv, ["fetch", "--new", "--delete", "--state", str(state), "-o",
                                      f"maildir:{ctx.scratch / ('md-' + what)}"])
        eq(victim.read_bytes(), b"precious\n", f"{what}: the symlink's target", res)
        if what == "tmp":
            # A unique temporary name is made with O_EXCL: the run may succeed, never follow.
            continue
        expect_error(res, EX_CANTCREAT, r"symbolic link|symlink", f"{what} is a symlink")
        eq(box.committed_deletes, [], f"{what}: deleted on the server", res)


@scenario
def state_owned_by_someone_else_refused(ctx):
    """A state file (or lock) that belongs to another user is refused (73, one line)."""
    if not mw.is_root():
        raise mw.Skip("needs root to make a file owned by another user")
    box = Pop3Mailbox([message("owned1")], uids=["o1"])
    sdir = ctx.scratch / "s"
    sdir.mkdir(mode=0o700)
    state = sdir / "box.uids"
    lock = Path(f"{state}.lock")
    lock.write_text("")
    os.chown(lock, 65534, 65534)
    with ScriptedServer([], fallback=box) as srv:
        res = run_fake(ctx, srv, ["fetch", "--new", "--state", str(state), "-o", f"maildir:{ctx.scratch / 'md'}"])
    expect_error(res, EX_CANTCREAT, r"owned by|belongs to", "a lock file owned by another user")


# =========================================================================== 10: --max-size

@scenario
def max_size_holds_when_retr_is_longer(ctx):
    """LIST says 300 octets, RETR sends 200 KB: with --max-size 10K the copy is discarded, the
    message is not deleted, and the run says so (not exit 0)."""
    small = message("maxok")
    big = message("maxbig", body=body("big", 4000))
    box = Pop3Mailbox([small, big], uids=["s1", "b2"], list_sizes={2: 300})
    md = ctx.scratch / "md"
    with ScriptedServer([], fallback=box) as srv:
        res = run_fake(ctx, srv, ["fetch", "--delete", "--max-size", "10K", "-o", f"maildir:{md}"])
    check(res.rc not in (0, None), "fetch --max-size against a RETR longer than LIST: exit 0", res)
    check(re.search(r"max-size", res.stderr + res.stdout), "the run names --max-size", res)
    stored = sorted(p.read_bytes() for sub in ("new", "cur", "tmp") if (md / sub).exists()
                    for p in (md / sub).iterdir())
    check(big not in stored and not any(len(s) > 10 * 1024 for s in stored),
          "a copy larger than --max-size was kept", res)
    check(2 not in box.committed_deletes, "the oversized message was deleted on the server", res)


if __name__ == "__main__":
    sys.exit(mw.main())
