#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""fetch against Dovecot: every target (maildir, mbox, dir, stdout) byte-identical to what the
server holds (dots, "From " lines, 8-bit, a 1 MB line, 50 MB in bounded memory), --new, --delete,
--limit, --max-size, the lock, SIGKILL at several points of a --new --delete run, and a server that
closes the connection in the middle of a RETR (a fake one).

Every scenario that changes a mailbox gets a fresh user (Ctx.mailbox): alice, bob and carol are
only read here, as the read-only scenarios running in parallel expect."""
import fcntl
import hashlib
import json
import mailbox
import os
import random
import re
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import mwtest as mw
from mwtest import check, eq, expect_ok, scenario, message, message_id, crlf

LOCK_EXIT = 75


# --------------------------------------------------------------------------- the messages

def corpus() -> list[bytes]:
    """Messages whose bytes are easy to get wrong on the way from the server to the disk."""
    return [
        message("plain", subject="Plain", body="Hello,\n\njust text.\n-- \nA.\n"),
        message("dots", subject="Dots", body=".\n..\n.leading dot\n..two dots\n...\n. space\n"
                                             "middle . dot\n\nend\n.\n"),
        message("fromlines", subject="From lines",
                body="From the start of the body\n"
                     "From here on, mboxrd must quote.\n"
                     ">From already quoted once\n"
                     ">>From quoted twice\n"
                     ">>>From three\n"
                     "From\n"
                     "From:not a separator\n"
                     " From with a space before\n"
                     "Fromage\n"
                     ">From\n"
                     "\n"
                     "From after a blank line\n"
                     "last line\n"),
        message("utf8", frm="Jürgen Müller <juergen@example.de>", subject="Grüße aus Köln ✓",
                headers=["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"],
                body="Grüße, Straße, Ærø, 東京, emoji 😀.\n".encode() + b"latin-1 byte: caf\xe9\n"),
        message("longline", subject="A 1 MB line",
                body=("".join(chr(0x21 + i % 94) for i in range(1 << 20)) + "\nafter the long line\n")),
        message("blanktail", subject="Trailing blank lines", body="text\n\n\n\n"),
        message("nobody", subject="No body", body=""),
        message("spaces", subject="Trailing white space", body="trailing spaces   \n\ttab first\ntab last\t\n"),
    ]


INTERESTING = ("dots", "fromlines", "utf8", "longline", "blanktail", "nobody")


def mid_name(mid: str) -> str:
    """'<dots@mailwrench.test>' -> 'dots'"""
    return mid.strip("<>").split("@")[0]


def form(data: bytes, use_crlf: bool) -> bytes:
    return crlf(data) if use_crlf else data


# --------------------------------------------------------------------------- what is on disk

def mode_of(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def expect_mode(p: Path, mode: int, what: str, res=None):
    check(mode_of(p) == mode, f"{what}: {p} has mode {mode_of(p):04o}, expected {mode:04o}", res)


def listdir(p: Path) -> list[Path]:
    return sorted(p.iterdir()) if p.exists() else []


def expect_messages(found: list[bytes], want: list[bytes], what: str, res=None):
    """found holds exactly the messages of want, each once, byte for byte (any order)."""
    got_ids = [message_id(m) for m in found]
    want_ids = [message_id(m) for m in want]
    eq(sorted(map(str, got_ids)), sorted(map(str, want_ids)), f"{what}: the messages stored (Message-IDs)", res)
    by_id = {message_id(m): m for m in want}
    for m in found:
        w = by_id[message_id(m)]
        if m != w:
            # Show where they differ, not 1 MB of text.
            i = next((k for k in range(min(len(m), len(w))) if m[k] != w[k]), min(len(m), len(w)))
            mw.fail(f"{what}: {message_id(m)} differs from what the server holds "
                    f"({len(m)} octets stored, {len(w)} expected; first difference at offset {i}: "
                    f"stored {m[max(0, i - 40):i + 40]!r}, expected {w[max(0, i - 40):i + 40]!r})", res)


def expect_maildir(md: Path, want: list[bytes], what: str, res=None) -> list[Path]:
    """The Maildir holds exactly want in new/ (complete files, 0600, names per the spec), nothing in
    tmp/ or cur/; directories 0700. Returns the files of new/."""
    for sub in ("", "tmp", "new", "cur"):
        check((md / sub).is_dir(), f"{what}: {md / sub} is not a directory", res)
        expect_mode(md / sub, 0o700, what, res)
    eq([p.name for p in listdir(md / "tmp")], [], f"{what}: files left in {md}/tmp", res)
    eq([p.name for p in listdir(md / "cur")], [], f"{what}: files in {md}/cur (fetch delivers to new/)", res)
    files = listdir(md / "new")
    for f in files:
        expect_mode(f, 0o600, what, res)
        check(re.fullmatch(r"[^/:.][^/:]*", f.name), f"{what}: {f.name!r} is not a Maildir unique name", res)
        m = re.search(r",S=(\d+)", f.name)
        if m:
            eq(int(m.group(1)), f.stat().st_size, f"{what}: the S= of {f.name} must be the file size", res)
    expect_messages([f.read_bytes() for f in files], want, what, res)
    # And a real Maildir reader agrees.
    md_reader = mailbox.Maildir(str(md), factory=None, create=False)
    eq(len(md_reader), len(want), f"{what}: messages Python's mailbox.Maildir sees", res)
    return files


FROM_LINE = re.compile(rb"From \S+ (Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct"
                       rb"|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}\r?\n")
QUOTED = re.compile(rb"^>(>*From )", re.M)


def read_mboxrd(data: bytes, eol: bytes, what: str, res=None) -> list[bytes]:
    """A strict mboxrd reader: every message starts with a "From SENDER DATE" line and ends with an
    empty line; ">From " quoting is undone by one '>'. Every line must end in eol."""
    if not data:
        return []
    lines = re.findall(rb"[^\n]*\n|[^\n]+$", data)
    for i, l in enumerate(lines):
        if not l.endswith(b"\n") or (eol == b"\r\n") != l.endswith(b"\r\n"):
            mw.fail(f"{what}: mbox line {i + 1} does not end in {eol!r}: {l[-60:]!r}", res)
    check(lines[0].startswith(b"From "), f"{what}: the mbox does not start with a From line: {lines[0][:80]!r}", res)
    msgs: list[list[bytes]] = []
    for l in lines:
        if l.startswith(b"From "):
            check(FROM_LINE.fullmatch(l), f"{what}: malformed mbox From line {l!r}", res)
            msgs.append([])
        else:
            msgs[-1].append(l)
    out = []
    for k, m in enumerate(msgs):
        check(m and m[-1] == eol, f"{what}: message {k + 1} of the mbox is not followed by an empty line", res)
        body = b"".join(m[:-1])
        if eol == b"\r\n":
            body = body.replace(b"\r\n", b"\n")
        out.append(QUOTED.sub(rb"\1", body))
    return out


def read_python_mbox(path: Path) -> list[bytes]:
    """Python's mailbox.mbox (mboxo-ish: it neither quotes on reading nor knows mboxrd), with one
    '>' taken from '>+From ' lines by hand."""
    box = mailbox.mbox(str(path), factory=None, create=False)
    try:
        return [QUOTED.sub(rb"\1", box.get_bytes(k)) for k in box.keys()]
    finally:
        box.close()


def expect_dir(d: Path, box: mw.Mailbox, want: list[bytes], use_crlf: bool, what: str, res=None):
    expect_mode(d, 0o700, what, res)
    files = listdir(d)
    stray = [f.name for f in files if not f.name.endswith(".eml")]
    eq(stray, [], f"{what}: files other than *.eml in {d} (temporary files left?)", res)
    for f in files:
        expect_mode(f, 0o600, what, res)
        data = f.read_bytes()
        uid = box.uid_of(data.replace(b"\r\n", b"\n") if use_crlf else data)
        eq(f.name, f"{uid}.eml", f"{what}: file name of {message_id(data)} (derived from its UID)", res)
    expect_messages([f.read_bytes() for f in files], [form(m, use_crlf) for m in want], what, res)


def expect_fetch_json(res, box: mw.Mailbox, numbers: list[int], output: str, what: str,
                      deleted: int = 0, skipped: list[int] = ()) -> dict:
    expect_ok(res, what)
    doc = res.json()
    for k in ("output", "stored", "skipped", "failed", "count", "octets", "deleted", "seconds"):
        check(k in doc, f"{what}: JSON lacks {k!r}", res)
    eq(doc["output"], output, f"{what}: output", res)
    eq([s.get("number") for s in doc["stored"]], numbers, f"{what}: numbers of the stored messages", res)
    eq([s.get("uid") for s in doc["stored"]], [box.uid(n) for n in numbers], f"{what}: UIDs", res)
    for s in doc["stored"]:
        eq(sorted(s), ["number", "octets", "path", "uid"], f"{what}: keys of a stored entry", res)
        check(isinstance(s["octets"], int) and s["octets"] > 0, f"{what}: octets of {s}", res)
    eq(doc["count"], len(numbers), f"{what}: count", res)
    eq(doc["octets"], sum(s["octets"] for s in doc["stored"]), f"{what}: octets (sum of the stored)", res)
    eq(doc["deleted"], deleted, f"{what}: deleted", res)
    eq([s.get("number") for s in doc["skipped"]], list(skipped), f"{what}: skipped", res)
    eq(doc["failed"], [], f"{what}: failed", res)
    check(isinstance(doc["seconds"], (int, float)) and doc["seconds"] >= 0, f"{what}: seconds", res)
    return doc


SUMMARY = re.compile(r"^stored (\d+) messages? \(([^)]*)\) in [\d.]+ s(, skipped (\d+))?(, failed (\d+))?"
                     r"(, deleted (\d+) on the server)?$")


def summary(res, what: str) -> re.Match:
    """The one summary line of plain output (other lines: one per skipped or failed message)."""
    found = [m for m in map(SUMMARY.match, res.stdout.splitlines()) if m]
    check(len(found) == 1, f"{what}: expected one summary line 'stored N messages (SIZE) in S s[, ...]' "
                           f"on stdout, found {len(found)}", res)
    return found[0]


# --------------------------------------------------------------------------- targets

def fetch_to_maildir(ctx, use_crlf):
    want = corpus()
    box = ctx.mailbox(want, "maildir")
    md = ctx.scratch / "out" / "Maildir"
    extra = ["--crlf"] if use_crlf else []
    res = box.run(["--json", "fetch", "-o", f"maildir:{md}"] + extra)
    doc = expect_fetch_json(res, box, list(range(1, len(want) + 1)), f"maildir:{md}", "fetch -o maildir")
    eq(res.stderr, "", "stderr of a successful fetch when it is not a terminal (no progress bar)", res)
    files = expect_maildir(md, [form(m, use_crlf) for m in want], "fetch -o maildir", res)
    eq(sorted(s["path"] for s in doc["stored"]), sorted(str(f) for f in files),
       "JSON paths are the files in new/", res)
    for s in doc["stored"]:
        eq(message_id(Path(s["path"]).read_bytes()), message_id(box.by_uid(s["uid"])),
           f"the file of UID {s['uid']} holds that message", res)
    expect_mode(md.parent, 0o700, "fetch -o maildir: a directory it created", res)
    eq(box.server_uids(), box.uids, "fetch without --delete leaves the server alone", res)
    # A bare path naming an existing Maildir is a Maildir target too (everything again, no --new).
    res = box.run(["fetch", "-o", str(md)] + extra)
    m = summary(res, "fetch -o EXISTING_MAILDIR")
    expect_ok(res, "fetch -o EXISTING_MAILDIR")
    eq(int(m.group(1)), len(want), "fetch -o EXISTING_MAILDIR: stored", res)
    eq(len(listdir(md / "new")), 2 * len(want), "fetch -o EXISTING_MAILDIR: stored into that Maildir", res)


def fetch_to_mbox(ctx, use_crlf):
    want = corpus()
    box = ctx.mailbox(want, "mbox")
    path = ctx.scratch / "out" / "inbox.mbox"
    extra = ["--crlf"] if use_crlf else []
    res = box.run(["--json", "fetch", "-o", f"mbox:{path}"] + extra)
    doc = expect_fetch_json(res, box, list(range(1, len(want) + 1)), f"mbox:{path}", "fetch -o mbox")
    eq({s["path"] for s in doc["stored"]}, {str(path)}, "JSON path of every message is the mbox", res)
    expect_mode(path, 0o600, "fetch -o mbox", res)
    expect_mode(path.parent, 0o700, "fetch -o mbox: a directory it created", res)
    check(not Path(str(path) + ".lock").exists(), "the dot-lock is removed after the run", res)
    eol = b"\r\n" if use_crlf else b"\n"
    data = path.read_bytes()
    got = read_mboxrd(data, eol, "fetch -o mbox", res)
    eq([message_id(m) for m in got], [message_id(m) for m in want], "messages of the mbox, in order", res)
    expect_messages(got, want, "fetch -o mbox (mboxrd reader, line endings normalised)", res)
    if use_crlf:
        # The stored form is the wire form: every line of every message ends in CRLF.
        check(b"\n" not in data.replace(b"\r\n", b""), "a bare LF in the --crlf mbox", res)
    else:
        expect_messages(read_python_mbox(path), want, "fetch -o mbox read back with Python's mailbox.mbox", res)
    # Appending: a second fetch adds the same messages after the first ones, intact.
    res = box.run(["fetch", "-o", f"mbox:{path}"] + extra)
    expect_ok(res, "fetch -o mbox (append)")
    got = read_mboxrd(path.read_bytes(), eol, "fetch -o mbox (appended)", res)
    eq(len(got), 2 * len(want), "messages in the mbox after the second fetch", res)
    check(path.read_bytes().startswith(data), "the second fetch appended (the first part is unchanged)", res)
    expect_messages(got[len(want):], want, "fetch -o mbox (appended)", res)


def fetch_to_dir(ctx, use_crlf):
    want = corpus()
    box = ctx.mailbox(want, "dir")
    d = ctx.scratch / "out" / "eml"
    extra = ["--crlf"] if use_crlf else []
    res = box.run(["--json", "fetch", "-o", f"dir:{d}"] + extra)
    doc = expect_fetch_json(res, box, list(range(1, len(want) + 1)), f"dir:{d}", "fetch -o dir")
    expect_dir(d, box, want, use_crlf, "fetch -o dir", res)
    eq(sorted(s["path"] for s in doc["stored"]), sorted(str(f) for f in listdir(d)),
       "JSON paths are the files", res)


def fetch_to_stdout(ctx, use_crlf):
    want = corpus()
    box = ctx.mailbox(want, "stdout")
    extra = ["--crlf"] if use_crlf else []
    for n, m in enumerate(want, 1):
        if mid_name(message_id(m)) not in INTERESTING + ("plain",):
            continue
        res, out = ctx.run_raw(box.conn() + ["fetch", str(n), "-o", "-"] + extra, password=box.password)
        expect_ok(res, f"fetch {n} -o -")
        if out != form(m, use_crlf):
            expect_messages([out], [form(m, use_crlf)], f"fetch {n} -o - (stdout)", res)
            mw.fail(f"fetch {n} -o -: stdout is not exactly the message", res)
        check(not re.search(r"^stored", res.stdout, re.M), "the summary does not go to stdout with -o -", res)
    # The only message of a mailbox, without naming it.
    one = ctx.mailbox([want[1]], "stdout1")
    res, out = ctx.run_raw(one.conn() + ["fetch", "-o", "-"] + extra, password=one.password)
    expect_ok(res, "fetch -o - (one message in the mailbox)")
    eq(out, form(want[1], use_crlf), "fetch -o - of the only message", res)
    # More than one: a usage error, and nothing on stdout.
    res, out = ctx.run_raw(box.conn() + ["fetch", "1-2", "-o", "-"], password=box.password)
    mw.expect_error(res, 64, r"one message|select|mbox", "fetch 1-2 -o -")
    eq(out, b"", "fetch 1-2 -o -: stdout", res)


for _crlf in (False, True):
    _sfx = "_crlf" if _crlf else ""
    mw.add(f"fetch_maildir{_sfx}", fetch_to_maildir, _crlf)
    mw.add(f"fetch_mbox{_sfx}", fetch_to_mbox, _crlf)
    mw.add(f"fetch_dir{_sfx}", fetch_to_dir, _crlf)
    mw.add(f"fetch_stdout{_sfx}", fetch_to_stdout, _crlf)


@scenario
def fetch_modes_with_umask_0(ctx):
    """Modes are set explicitly, not left to the umask: 0700 directories, 0600 files, also the
    state file and its directory."""
    box = ctx.mailbox(corpus()[:2], "umask")
    wrapper = ctx.scratch / "umask0.sh"
    wrapper.write_text(f'#!/bin/sh\numask 000\nexec {ctx.bin} "$@"\n')
    os.chmod(wrapper, 0o755)
    real, ctx.bin = ctx.bin, str(wrapper)
    try:
        out = ctx.scratch / "o"
        state = ctx.scratch / "st" / "sub" / "box.uids"
        for target in (f"maildir:{out}/md", f"mbox:{out}/mb/box.mbox", f"dir:{out}/eml"):
            res = box.run(["fetch", "--new", "--state", str(state), "-o", target])
            expect_ok(res, f"fetch -o {target} under umask 000")
            state.unlink()
    finally:
        ctx.bin = real
    for d in (out, out / "md", out / "md" / "new", out / "md" / "tmp", out / "md" / "cur", out / "mb",
              out / "eml", state.parent, state.parent.parent):
        expect_mode(d, 0o700, "under umask 000", res)
    for f in listdir(out / "md" / "new") + [out / "mb" / "box.mbox"] + listdir(out / "eml"):
        expect_mode(f, 0o600, "under umask 000", res)
    res = box.run(["fetch", "--new", "--state", str(state), "-o", f"maildir:{out}/md"])
    expect_mode(state, 0o600, "the state file under umask 000", res)


def fetch_50mb(ctx, target):
    """A 50 MB message goes to disk in bounded memory: peak RSS under 32 MB."""
    big = message("big50m", subject="50 MB", size=50 * 1024 * 1024)
    want_sha = hashlib.sha256(big).hexdigest()
    box = ctx.mailbox([big], "big" + target)
    del big
    limit_kib = 32 * 1024
    if target == "maildir":
        out = ctx.scratch / "md"
        args = ["fetch", "-o", f"maildir:{out}"]
    elif target == "mbox":
        out = ctx.scratch / "box.mbox"
        args = ["fetch", "-o", f"mbox:{out}"]
    else:
        args = ["fetch", "1", "-o", "-"]
    res, peak = ctx.run_measured(box.conn() + args, password=box.password, timeout=55)
    expect_ok(res, f"fetch of a 50 MB message into {target}")
    print(f"  {target}: peak RSS {peak / 1024:.1f} MiB, {res.elapsed:.1f} s")
    if target == "maildir":
        files = listdir(out / "new")
        eq(len(files), 1, "files in new/", res)
        eq(hashlib.sha256(files[0].read_bytes()).hexdigest(), want_sha, "SHA-256 of the stored 50 MB message", res)
        eq(listdir(out / "tmp"), [], "tmp/ after the run", res)
    elif target == "mbox":
        # The message has no line that needs quoting: the mbox is a From line, the message, "\n".
        data = out.read_bytes()
        first, _, rest = data.partition(b"\n")
        check(FROM_LINE.fullmatch(first + b"\n"), f"the mbox starts with a From line: {first[:100]!r}", res)
        check(rest.endswith(b"\n\n"), "the message in the mbox is followed by an empty line", res)
        eq(hashlib.sha256(rest[:-1]).hexdigest(), want_sha, "SHA-256 of the message in the mbox", res)
    else:
        data = (ctx.scratch / "measured.out").read_bytes()
        eq(hashlib.sha256(data).hexdigest(), want_sha, "SHA-256 of the message written to stdout", res)
    eq(box.server_uids(), box.uids, "the message is still on the server", res)
    if not ctx.rss_checked(f"fetch into {target}"):
        return
    check(peak > 0, "could not read VmHWM of the mailwrench process", res)
    check(peak < limit_kib, f"peak RSS {peak} KiB fetching a 50 MB message into {target}, "
                            f"limit {limit_kib} KiB (messages must be streamed)", res)


for _target in ("maildir", "mbox", "stdout"):
    mw.add(f"fetch_50mb_{_target}_bounded_memory", fetch_50mb, _target)


# --------------------------------------------------------------------------- --new, --delete, --limit, --max-size

def small_box(ctx, n, tag, **kw):
    return ctx.mailbox([message(f"{tag}{i:03d}", subject=f"{tag} {i}", **kw) for i in range(1, n + 1)], tag)


def maildir_messages(md: Path) -> list[bytes]:
    return [f.read_bytes() for sub in ("new", "cur") for f in listdir(md / sub)]


def state_uids(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    check(lines and lines[0].startswith("#"), f"state file {path} has no header line: {lines[:2]}")
    return [l for l in lines[1:] if l.strip() and not l.startswith("#")]


@scenario
def fetch_new_twice(ctx):
    box = small_box(ctx, 4, "newtwice")
    md, state = ctx.scratch / "md", ctx.scratch / "state" / "box.uids"
    args = ["fetch", "--new", "--state", str(state), "-o", f"maildir:{md}"]
    res = box.run(args)
    expect_ok(res, "first fetch --new")
    eq(int(summary(res, "first fetch --new").group(1)), 4, "first fetch --new: stored", res)
    expect_maildir(md, box.messages, "first fetch --new", res)
    eq(sorted(state_uids(state)), sorted(box.uids), "the state file records the UIDs stored", res)
    expect_mode(state, 0o600, "the state file", res)
    res = box.run(args)
    expect_ok(res, "second fetch --new")
    eq(int(summary(res, "second fetch --new").group(1)), 0, "second fetch --new: stored", res)
    expect_maildir(md, box.messages, "after the second fetch --new (nothing new)", res)
    res = box.run(["--json"] + args)
    expect_fetch_json(res, box, [], f"maildir:{md}", "third fetch --new --json")
    # New mail arrives: only that is fetched.
    box.deliver([message("newtwice-late1"), message("newtwice-late2")])
    res = box.run(["--json"] + args)
    expect_fetch_json(res, box, [5, 6], f"maildir:{md}", "fetch --new after two arrived")
    expect_maildir(md, box.messages, "after new mail", res)
    eq(box.server_uids(), box.uids, "--new without --delete leaves the server alone", res)


@scenario
def fetch_new_default_state_file(ctx):
    """Without --state: $XDG_STATE_HOME/mailwrench/<user@host-port>.uids (made file-name safe),
    which records the mailbox it belongs to."""
    box = small_box(ctx, 2, "defstate")
    md = ctx.scratch / "md"
    res = box.run(["fetch", "--new", "-o", f"maildir:{md}"])
    expect_ok(res, "fetch --new")
    sdir = ctx.home / ".local" / "state" / "mailwrench"
    names = [p.name for p in listdir(sdir)]
    port = ctx.env["pop3s_port"]
    want = {f"{box.user}@localhost-{port}.uids"}
    found = [n for n in names if n in want]
    check(len(found) == 1, f"state file in {sdir}: expected {want}, found {names}", res)
    eq(sorted(state_uids(sdir / found[0])), sorted(box.uids), "UIDs in the default state file", res)
    eq((sdir / found[0]).read_text().splitlines()[1], f"# mailbox {box.user}@localhost:{port}",
       "the mailbox the default state file records", res)
    expect_mode(sdir, 0o700, "the state directory", res)
    res = box.run(["fetch", "--new", "-o", f"maildir:{md}"])
    eq(int(summary(res, "second fetch --new").group(1)), 0, "second fetch --new stored", res)


@scenario
def fetch_delete(ctx):
    box = small_box(ctx, 5, "delete")
    md = ctx.scratch / "md"
    res = box.run(["--json", "fetch", "--delete", "-o", f"maildir:{md}"])
    expect_fetch_json(res, box, [1, 2, 3, 4, 5], f"maildir:{md}", "fetch --delete --json", deleted=5)
    eq(box.server_uids(), [], "the server after fetch --delete", res)
    expect_maildir(md, box.messages, "fetch --delete", res)


@scenario
def fetch_delete_plain(ctx):
    box = small_box(ctx, 3, "delplain")
    d = ctx.scratch / "eml"
    res = box.run(["fetch", "--delete", "-o", f"dir:{d}"])
    expect_ok(res, "fetch --delete")
    m = summary(res, "fetch --delete")
    eq((m.group(1), m.group(8)), ("3", "3"), "fetch --delete: stored and deleted in the summary", res)
    eq(box.server_uids(), [], "the server after fetch --delete", res)
    expect_dir(d, box, box.messages, False, "fetch --delete", res)


@scenario
def fetch_delete_selection(ctx):
    """--delete deletes exactly the selected messages that were stored."""
    box = ctx.mailbox([message(f"sel{i}", frm=("List <news@lists.example.net>" if i % 2 else "Bob <bob@lab.test>"))
                       for i in range(1, 7)], "delsel")
    md = ctx.scratch / "md"
    res = box.run(["--json", "fetch", "--delete", "--from", r"lists\.example\.net", "-o", f"maildir:{md}"])
    expect_fetch_json(res, box, [1, 3, 5], f"maildir:{md}", "fetch --delete --from", deleted=3)
    eq(box.server_uids(), [box.uid(2), box.uid(4), box.uid(6)], "the server keeps what was not selected", res)
    expect_maildir(md, [box.msg(1), box.msg(3), box.msg(5)], "fetch --delete --from", res)
    res = box.run(["--json", "fetch", "--delete", "2", "-o", f"maildir:{md}"])
    # Message 2 is number 1 now (numbers are per session): use the UIDs to check.
    expect_ok(res, "fetch --delete 2")
    doc = res.json()
    eq([s["uid"] for s in doc["stored"]], [box.uid(4)], "fetch --delete 2 stores the 2nd message left", res)
    eq(box.server_uids(), [box.uid(2), box.uid(6)], "the server after fetch --delete 2", res)


@scenario
def fetch_new_flush_deletes_earlier(ctx):
    """--new --delete --flush also deletes what an earlier --new run stored (and fetches it no
    second time); --new --delete alone deletes only what it stored itself."""
    box = small_box(ctx, 3, "newdel")
    md, state = ctx.scratch / "md", ctx.scratch / "box.uids"
    res = box.run(["fetch", "--new", "--state", str(state), "-o", f"maildir:{md}"])
    expect_ok(res, "fetch --new")
    eq(box.server_uids(), box.uids, "after fetch --new (no --delete) the server keeps all", res)
    box.deliver([message("newdel-late1"), message("newdel-late2")])
    res = box.run(["--json", "fetch", "--new", "--delete", "--flush", "--state", str(state), "-o", f"maildir:{md}"])
    expect_fetch_json(res, box, [4, 5], f"maildir:{md}", "fetch --new --delete --flush", deleted=5)
    eq(box.server_uids(), [], "the server after fetch --new --delete", res)
    expect_maildir(md, box.messages, "every message once on disk", res)
    res = box.run(["fetch", "--new", "--delete", "--state", str(state), "-o", f"maildir:{md}"])
    expect_ok(res, "fetch --new --delete on the empty mailbox")
    eq(int(summary(res, "fetch --new --delete, empty").group(1)), 0, "stored from an empty mailbox", res)


@scenario
def fetch_limit(ctx):
    box = small_box(ctx, 5, "limit")
    md, state = ctx.scratch / "md", ctx.scratch / "box.uids"
    args = ["--json", "fetch", "--new", "--limit", "2", "--state", str(state), "-o", f"maildir:{md}"]
    expect_fetch_json(box.run(args), box, [1, 2], f"maildir:{md}", "fetch --new --limit 2")
    expect_fetch_json(box.run(args), box, [3, 4], f"maildir:{md}", "fetch --new --limit 2 (again)")
    res = box.run(args[:1] + ["fetch", "--delete", "--limit", "1", "-o", f"maildir:{md}"])
    expect_fetch_json(res, box, [1], f"maildir:{md}", "fetch --delete --limit 1", deleted=1)
    eq(box.server_uids(), box.uids[1:], "fetch --delete --limit 1 deleted only the first", res)
    eq(len(maildir_messages(md)), 5, "messages on disk (1, 2, 3, 4 and 1 again)", res)


@scenario
def fetch_max_size(ctx):
    msgs = [message("max1"), message("max2big", size=60_000), message("max3"), message("max4big", size=200_000)]
    box = ctx.mailbox(msgs, "maxsize")
    md = ctx.scratch / "md"
    res = box.run(["--json", "fetch", "--delete", "--max-size", "10K", "-o", f"maildir:{md}"])
    doc = expect_fetch_json(res, box, [1, 3], f"maildir:{md}", "fetch --max-size 10K --delete",
                            deleted=2, skipped=[2, 4])
    for s in doc["skipped"]:
        eq(sorted(s), ["number", "octets", "reason", "uid"], "keys of a skipped entry", res)
        eq(s["uid"], box.uid(s["number"]), "UID of a skipped entry", res)
        check(re.search(r"max-size|larger", s["reason"]), f"reason names --max-size: {s['reason']!r}", res)
    eq(box.server_uids(), [box.uid(2), box.uid(4)], "the skipped messages are still on the server", res)
    expect_maildir(md, [box.msg(1), box.msg(3)], "fetch --max-size", res)
    # Plain: the summary says "skipped 2", and a line for each skipped message names it.
    res = box.run(["fetch", "--max-size", "100K", "-o", f"maildir:{ctx.scratch}/md2"])
    expect_ok(res, "fetch --max-size 100K")
    m = summary(res, "fetch --max-size 100K")
    eq((m.group(1), m.group(4)), ("1", "1"), "fetch --max-size 100K: stored 1, skipped 1", res)
    rest = [l for l in res.stdout.splitlines() if l.strip() and not SUMMARY.match(l)]
    eq(len(rest), 1, "lines besides the summary: one per skipped message", res)
    check(box.uid(4) in rest[0] and re.search(r"max-size|larger", rest[0]),
          "the line names the skipped message's UID and the reason", res)


@scenario
def fetch_uid_file_empty_selects_nothing(ctx):
    """An empty --uid-file (e.g. `list ... | jq ... |` matched nothing) selects no message; it is not
    'no selection' = every message, least of all with --delete."""
    box = small_box(ctx, 3, "uidempty")
    md = ctx.scratch / "md"
    res = box.run(["fetch", "--delete", "--uid-file", "-", "-o", f"maildir:{md}"], stdin="")
    eq(box.server_uids(), box.uids, "the server after fetch --delete --uid-file - with empty input", res)
    eq(maildir_messages(md), [], "messages stored with an empty --uid-file", res)
    check(res.rc in (0, 64), f"exit code {res.rc}: 0 (nothing selected) or 64 expected", res)


@scenario
def fetch_uid_file(ctx):
    box = small_box(ctx, 4, "uidfile")
    md = ctx.scratch / "md"
    res = box.run(["--json", "fetch", "--delete", "--uid-file", "-", "-o", f"maildir:{md}"],
                  stdin=f"{box.uid(3)}\n{box.uid(1)}\n")
    expect_fetch_json(res, box, [1, 3], f"maildir:{md}", "fetch --delete --uid-file -", deleted=2)
    eq(box.server_uids(), [box.uid(2), box.uid(4)], "the server after fetch --uid-file --delete", res)


@scenario
def fetch_missing_number(ctx):
    box = small_box(ctx, 2, "missing")
    md = ctx.scratch / "md"
    res = box.run(["fetch", "--delete", "1,7", "-o", f"maildir:{md}"])
    mw.expect_error(res, 65, r"\b7\b", "fetch --delete 1,7 (there is no 7)")
    eq(box.server_uids(), box.uids, "nothing deleted", res)
    eq(maildir_messages(md), [], "nothing stored", res)


@scenario
def fetch_output_errors(ctx):
    """A target that cannot be used: a usage error (64) or cannot-create (73), before anything is
    fetched or deleted."""
    box = small_box(ctx, 2, "outerr")
    plain_dir = ctx.scratch / "just-a-directory"
    plain_dir.mkdir()
    (ctx.scratch / "file").write_text("a file where a directory is needed\n")
    cases = [
        ([str(plain_dir)], 64, r"maildir|mbox|dir:"),        # an existing directory that is no Maildir
        (["bogus:x"], 64, r"bogus|maildir"),
        (["mbox:/dev/null"], 73, r"/dev/null"),
        ([f"maildir:{ctx.scratch}/file/md"], 73, r"file"),
    ]
    for target, code, pattern in cases:
        res = box.run(["fetch", "--delete", "-o"] + target)
        mw.expect_error(res, code, pattern, f"fetch --delete -o {target[0]}")
    eq(box.server_uids(), box.uids, "nothing deleted", res)
    eq(listdir(plain_dir), [], "nothing created in the plain directory", res)


def run_with_file_size_limit(ctx, box, args, limit):
    """mailwrench with RLIMIT_FSIZE (writes past it fail with EFBIG, SIGXFSZ ignored): a full disk."""
    import resource

    def limit_fsize():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = ctx.base_env(None)
    env["MAILWRENCH_PASSWORD"] = box.password
    argv = [ctx.bin] + box.conn() + args
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, errors="replace", env=env, timeout=40,
                       preexec_fn=limit_fsize)
    return mw.Result(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


@scenario
def fetch_disk_full_maildir(ctx):
    """Writing a message fails (file too large, as on a full disk): 73 (or 1), no partial file, and
    no message that is not on disk is deleted."""
    msgs = [message("full1"), message("full2big", size=300_000), message("full3")]
    box = ctx.mailbox(msgs, "fullmd")
    md, state = ctx.scratch / "md", ctx.scratch / "box.uids"
    res = run_with_file_size_limit(ctx, box, ["fetch", "--new", "--delete", "--state", str(state),
                                              "-o", f"maildir:{md}"], 100_000)
    check(res.rc in (1, 73), f"exit code {res.rc}, expected 73 (or 1: some messages failed)", res)
    eq(listdir(md / "tmp"), [], "tmp/ after the failed write (the partial file is removed)", res)
    info = check_nothing_lost(box, md, state, "after the failed write")
    check(box.uid(2) in info["server"], "the message that could not be written is still on the server", res)


@scenario
def fetch_disk_full_mbox(ctx):
    msgs = [message("mfull1"), message("mfull2big", size=300_000)]
    box = ctx.mailbox(msgs, "fullmbox")
    path = ctx.scratch / "box.mbox"
    res = run_with_file_size_limit(ctx, box, ["fetch", "--delete", "-o", f"mbox:{path}"], 100_000)
    check(res.rc in (1, 73), f"exit code {res.rc}, expected 73 (or 1: some messages failed)", res)
    got = read_mboxrd(path.read_bytes(), b"\n", "the mbox after the failed write", res)
    eq([message_id(m) for m in got], [message_id(msgs[0])], "the mbox holds the first message only "
       "(the partial second one is cut off again)", res)
    expect_messages(got, msgs[:1], "the mbox after the failed write", res)
    check(box.uid(2) in box.server_uids(), "the message that could not be written is still on the server", res)
    check(not Path(str(path) + ".lock").exists(), "the dot-lock is removed", res)


@scenario
def fetch_retr_refused_partial(ctx):
    """The server refuses RETR of one message: the others are stored (and deleted), that one is
    reported as failed and stays; exit 1."""
    msgs = [message("pr1"), message("pr2"), message("pr3")]
    md = ctx.scratch / "md"
    with mw.FakePop3(msgs, retr_error={2: "-ERR [SYS/TEMP] message 2 is locked"}) as fake:
        res = ctx.run(fake.conn() + ["--json", "fetch", "--delete", "-o", f"maildir:{md}"], password="x")
    eq(res.rc, 1, "exit code when some messages failed", res)
    doc = res.json()
    eq([s["number"] for s in doc.get("stored", [])], [1, 3], "stored", res)
    eq([f.get("number") for f in doc.get("failed", [])], [2], "failed", res)
    check("locked" in str(doc["failed"][0].get("reason")), "the failure carries the server's reason", res)
    eq(doc.get("deleted"), 2, "deleted", res)
    eq(fake.committed_deletes, [1, 3], "the fake server deleted the stored messages only", res)
    expect_maildir(md, [msgs[0], msgs[2]], "stored after a refused RETR", res)
    with mw.FakePop3(msgs, retr_error={2: "-ERR no"}) as fake:
        res = ctx.run(fake.conn() + ["fetch", "-o", f"dir:{ctx.scratch}/eml"], password="x")
    eq(res.rc, 1, "exit code (plain)", res)
    eq(summary(res, "fetch with a refused RETR").group(6), "1", "'failed 1' in the summary", res)
    check(any(fake.uids[1] in l for l in res.stdout.splitlines() if not SUMMARY.match(l)),
          "a line names the failed message's UID", res)


@scenario
def fetch_list_size_lies(ctx):
    """LIST sizes are hints: a message larger or smaller than LIST says is stored whole."""
    msgs = [message("lie1", size=20_000), message("lie2", size=5_000)]
    md = ctx.scratch / "md"
    with mw.FakePop3(msgs, list_sizes={1: 100, 2: 900_000}) as fake:
        res = ctx.run(fake.conn() + ["fetch", "-o", f"maildir:{md}"], password="x")
    expect_ok(res, "fetch when LIST sizes are wrong")
    expect_maildir(md, msgs, "messages whose LIST size was wrong", res)


@scenario
def fetch_mbox_locked(ctx):
    """Another program holds the mbox (its dot-lock, or an fcntl lock): 75, nothing stored or deleted."""
    box = small_box(ctx, 2, "mboxlocked")
    path = ctx.scratch / "inbox.mbox"
    path.write_bytes(b"")
    os.chmod(path, 0o600)
    dot = Path(str(path) + ".lock")
    dot.write_text(f"{os.getpid()}\n")
    res = box.run(["fetch", "--delete", "-o", f"mbox:{path}"], timeout=30)
    mw.expect_error(res, LOCK_EXIT, re.escape(str(path)), "fetch into an mbox whose dot-lock is held")
    check(dot.exists() and dot.read_text() == f"{os.getpid()}\n", "someone else's dot-lock is left alone", res)
    dot.unlink()
    with open(path, "r+b") as f:
        fcntl.lockf(f, fcntl.LOCK_EX)
        # fcntl locks are per process: the child sees ours.
        res = box.run(["fetch", "--delete", "-o", f"mbox:{path}"], timeout=30)
        mw.expect_error(res, LOCK_EXIT, re.escape(str(path)), "fetch into an mbox with an fcntl lock held")
    eq(path.read_bytes(), b"", "the mbox is untouched", res)
    check(not dot.exists(), "no dot-lock left behind", res)
    eq(box.server_uids(), box.uids, "nothing deleted", res)


@scenario
def fetch_state_file_malformed(ctx):
    box = small_box(ctx, 2, "badstate")
    state = ctx.scratch / "box.uids"
    state.write_text("this is not\na mailwrench state file\n")
    res = box.run(["fetch", "--new", "--delete", "--state", str(state), "-o", f"maildir:{ctx.scratch}/md"])
    mw.expect_error(res, 65, re.escape(str(state)), "fetch --new with a malformed state file")
    eq(state.read_text(), "this is not\na mailwrench state file\n", "the state file is left as it was", res)
    eq(box.server_uids(), box.uids, "nothing deleted", res)


# --------------------------------------------------------------------------- the lock

def hold_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


@scenario
def fetch_lock_held(ctx):
    box = small_box(ctx, 2, "lockheld")
    md, state = ctx.scratch / "md", ctx.scratch / "s" / "box.uids"
    lock = Path(str(state) + ".lock")
    f = hold_lock(lock)
    try:
        for extra in (["--new"], ["--delete"], ["--new", "--delete"]):
            res = box.run(["fetch"] + extra + ["--state", str(state), "-o", f"maildir:{md}"], timeout=20)
            mw.expect_error(res, LOCK_EXIT, re.escape(str(lock)), f"fetch {' '.join(extra)} while the lock is held")
            check(res.elapsed < 5, f"a held lock fails at once (took {res.elapsed:.1f} s)", res)
        res = box.run(["--json", "fetch", "--new", "--state", str(state), "-o", f"maildir:{md}"], timeout=20)
        eq(res.rc, LOCK_EXIT, "fetch --json while the lock is held: exit code", res)
        err = res.json().get("error") or {}
        eq(err.get("exit_code"), LOCK_EXIT, "the JSON error document's exit_code", res)
        check(str(lock) in str(err.get("message")), "the JSON error message names the lock", res)
    finally:
        f.close()
    eq(box.server_uids(), box.uids, "nothing deleted", res)
    eq(maildir_messages(md), [], "nothing stored", res)
    res = box.run(["fetch", "--new", "--delete", "--state", str(state), "-o", f"maildir:{md}"])
    expect_ok(res, "fetch once the lock is free")


@scenario
def fetch_lock_default_path(ctx):
    """With --delete alone the lock sits next to the default state file."""
    box = small_box(ctx, 1, "lockdef")
    sdir = ctx.home / ".local" / "state" / "mailwrench"
    f1 = hold_lock(sdir / f"{box.user}@localhost-{ctx.env['pop3s_port']}.uids.lock")
    try:
        res = box.run(["fetch", "--delete", "-o", f"maildir:{ctx.scratch}/md"], timeout=20)
        mw.expect_error(res, LOCK_EXIT, r"lock", "fetch --delete while the default lock is held")
    finally:
        f1.close()
    eq(box.server_uids(), box.uids, "nothing deleted", res)


@scenario
def fetch_wait_lock(ctx):
    box = small_box(ctx, 3, "waitlock")
    md, state = ctx.scratch / "md", ctx.scratch / "box.uids"
    lock = Path(str(state) + ".lock")
    ctx.slowness()  # (it reads the whole binary: not while the lock's 1.5 s run)
    f = hold_lock(lock)
    threading.Timer(1.5, f.close).start()
    res = box.run(["--json", "fetch", "--new", "--delete", "--wait-lock", "5", "--state", str(state),
                   "-o", f"maildir:{md}"], timeout=30)
    expect_fetch_json(res, box, [1, 2, 3], f"maildir:{md}", "fetch --wait-lock 5 (lock freed after 1.5 s)",
                      deleted=3)
    check(res.elapsed >= 1.3, f"it waited for the lock (finished after {res.elapsed:.1f} s)", res)
    eq(box.server_uids(), [], "the server afterwards", res)


@scenario
def fetch_wait_lock_gives_up(ctx):
    box = small_box(ctx, 1, "waitgiveup")
    state = ctx.scratch / "box.uids"
    f = hold_lock(Path(str(state) + ".lock"))
    try:
        res = box.run(["fetch", "--new", "--wait-lock", "1", "--state", str(state), "-o",
                       f"maildir:{ctx.scratch}/md"], timeout=20)
    finally:
        f.close()
    mw.expect_error(res, LOCK_EXIT, r"lock", "fetch --wait-lock 1 while the lock stays held")
    check(0.8 <= res.elapsed < 5, f"it waited about 1 s (took {res.elapsed:.1f} s)", res)


@scenario
def fetch_concurrent_runs(ctx):
    """Two real runs: the first hangs in RETR (a fake server that never answers), the second one on
    the same state file exits 75 at once, naming the lock."""
    box = small_box(ctx, 2, "concurrent")
    state = ctx.scratch / "box.uids"
    with mw.FakePop3([message("fake1")], stall_retr=True) as fake:
        first = ctx.popen(fake.conn() + ["fetch", "--new", "--delete", "--state", str(state), "-o",
                                         f"maildir:{ctx.scratch}/md1"], password="x")
        try:
            deadline = time.monotonic() + 15
            while "RETR" not in fake.verbs() and time.monotonic() < deadline and first.poll() is None:
                time.sleep(0.02)
            check("RETR" in fake.verbs(), f"the first run did not get to RETR: {fake.received}")
            res = box.run(["fetch", "--new", "--state", str(state), "-o", f"maildir:{ctx.scratch}/md2"], timeout=20)
            mw.expect_error(res, LOCK_EXIT, re.escape(str(state) + ".lock"), "a second fetch while the first runs")
            check(res.elapsed < 5, f"the second run fails at once (took {res.elapsed:.1f} s)", res)
            check(str(first.pid) in res.stderr, f"the message names the holder (pid {first.pid})", res)
        finally:
            first.kill()
            first.communicate()
    eq(box.server_uids(), box.uids, "nothing deleted", res)


# --------------------------------------------------------------------------- SIGKILL during --new --delete

KILL_BOX_SIZE = 300


def kill_box(ctx, tag, count=KILL_BOX_SIZE):
    msgs = [message(f"{tag}{i:04d}", subject=f"kill test {i}", size=6000 + (i * 37) % 5000)
            for i in range(1, count + 1)]
    return ctx.mailbox(msgs, tag)


def run_and_kill(ctx, box, args, trigger, what, must_kill=True):
    """Starts mailwrench -v ARGS and SIGKILLs it when trigger(proc, stderr_lines) is true.
    Returns whether it was killed; fails if the run ends before the kill point (unless
    must_kill is false)."""
    env = ctx.base_env(None)
    env["MAILWRENCH_PASSWORD"] = box.password
    p = subprocess.Popen([ctx.bin, "-v"] + box.conn() + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    lines: list[str] = []
    killed = threading.Event()
    lock = threading.Lock()

    def try_kill() -> bool:
        # Called from the reader thread after every stderr line (so a transcript trigger kills
        # within microseconds, before the next reply is read) and from the polling loop.
        with lock:
            if not killed.is_set() and p.returncode is None and trigger(p, lines):
                p.send_signal(signal.SIGKILL)
                killed.set()
            return killed.is_set()

    def reader():
        for raw in p.stderr:
            lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            try_kill()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not try_kill():
        with lock:
            if p.poll() is not None:
                break
        time.sleep(0.001)
    if not killed.is_set() and p.poll() is None:
        p.kill()
        mw.fail(f"{what}: no kill point within 40 s; stderr tail:\n" + "\n".join(lines[-15:]))
    rc = p.wait()
    t.join(5)
    killed = killed.is_set()
    if not killed and must_kill:
        mw.fail(f"{what}: the run ended (exit {rc}) before the kill point; stderr tail:\n"
                + "\n".join(lines[-15:]))
    if not killed:
        check(rc == 0, f"{what}: the run ended before the kill, with exit code {rc}; stderr tail:\n"
              + "\n".join(lines[-15:]))
    return killed


def check_nothing_lost(box, md: Path, state: Path, what: str) -> dict:
    """After a kill: every message is on the server or complete on disk; no partial file in new/
    or cur/; the state file records only messages that are on disk."""
    on_disk: dict[str, int] = {}
    for sub in ("new", "cur"):
        for f in listdir(md / sub):
            data = f.read_bytes()
            uid = box.uid_of(data)
            check(uid is not None, f"{what}: {f} is not one of the messages (partial? {len(data)} octets)")
            if data != box.by_uid(uid):
                mw.fail(f"{what}: {f} is incomplete or altered ({len(data)} octets, the message has "
                        f"{len(box.by_uid(uid))})")
            on_disk[uid] = on_disk.get(uid, 0) + 1
    server = set(box.server_uids())
    lost = [u for u in box.uids if u not in server and u not in on_disk]
    check(not lost, f"{what}: {len(lost)} messages are neither on the server nor on disk: {lost[:5]}")
    if state.exists():
        recorded = state_uids(state)
        unbacked = [u for u in recorded if u not in on_disk]
        check(not unbacked, f"{what}: the state file records {len(unbacked)} UIDs that are not on disk "
                            f"(a later --new would skip them): {unbacked[:5]}")
    return {"on_disk": on_disk, "server": server, "tmp": len(listdir(md / "tmp"))}


# fetch appends each stored message's UID to the state journal right after its rename into new/
# (the state file itself is rewritten in batches): only a message that a kill catches between the
# rename and the journal line is fetched again by the rerun. One duplicate per kill, no more.
MAX_DUPLICATES_PER_KILL = 1


def kill_scenario(ctx, tag, triggers, must_kill=True, count=KILL_BOX_SIZE):
    box = kill_box(ctx, tag, count)
    md, state = ctx.scratch / "md", ctx.scratch / "state" / "box.uids"
    # --flush: a killed run stored messages it could not delete; the next run deletes them (the
    # cron recipe, and the riskier path: deletions this run did not store).
    args = ["fetch", "--new", "--delete", "--flush", "--state", str(state), "-o", f"maildir:{md}"]
    kills = 0
    for i, (name, trig) in enumerate(triggers):
        if not run_and_kill(ctx, box, args, trig, f"kill {i + 1} ({name})", must_kill):
            print(f"  run {i + 1} ({name}) finished before the kill point")
            break
        kills += 1
        info = check_nothing_lost(box, md, state, f"after kill {i + 1} ({name})")
        print(f"  after kill {i + 1} ({name}): {sum(info['on_disk'].values())} files on disk, "
              f"{len(info['server'])} messages on the server, {info['tmp']} files in tmp/")
    res = box.run(["--json"] + args, timeout=50)
    expect_ok(res, "the rerun after the kill(s)")
    check_nothing_lost(box, md, state, "after the rerun")
    eq(box.server_uids(), [], "the server after the rerun", res)
    files = maildir_messages(md)
    eq(sorted({message_id(m) for m in files}), sorted(message_id(m) for m in box.messages),
       "every message is on disk after the rerun", res)
    dups = len(files) - len(box.messages)
    print(f"  after the rerun: {len(files)} files for {len(box.messages)} messages ({dups} duplicates, "
          f"each identical to its original)")
    check(dups <= kills * MAX_DUPLICATES_PER_KILL,
          f"{dups} duplicates after {kills} kill(s): more than the messages in flight", res)


def files_in_new(md: Path, n: int):
    def trig(p, lines):
        try:
            return sum(1 for _ in os.scandir(md / "new")) >= n
        except FileNotFoundError:
            return False
    return trig


def transcript(pattern: str):
    rx = re.compile(pattern)

    def trig(p, lines):
        return any(rx.search(l) for l in lines[-50:])
    return trig


def after(seconds: float):
    t0 = [None]

    def trig(p, lines):
        if t0[0] is None:
            t0[0] = time.monotonic()
        return time.monotonic() - t0[0] >= seconds
    return trig


@scenario
def kill_after_first_stored(ctx):
    kill_scenario(ctx, "killfirst", [("1 file in new/", files_in_new(ctx.scratch / "md", 1))])


@scenario
def kill_midway(ctx):
    kill_scenario(ctx, "killmid", [("150 files in new/", files_in_new(ctx.scratch / "md", KILL_BOX_SIZE // 2))])


@scenario
def kill_at_first_dele(ctx):
    kill_scenario(ctx, "killdele", [("first DELE sent", transcript(r"^> DELE "))])


@scenario
def kill_at_quit(ctx):
    kill_scenario(ctx, "killquit", [("QUIT sent", transcript(r"^> QUIT"))])


@scenario
def kill_repeatedly(ctx):
    """Several kills in a row at random moments (logged, to reproduce), then a complete run."""
    seed = int.from_bytes(os.urandom(4), "big")
    print(f"  random seed {seed}")
    rnd = random.Random(seed)
    md = ctx.scratch / "md"
    kills = [(f"after {d:.2f} s", after(d)) for d in (rnd.uniform(0.03, 0.15) for _ in range(3))]
    kills.append(("50 more files", files_in_new_more(md, 50)))
    kill_scenario(ctx, "killrep", kills, must_kill=False)


@scenario
def kill_twenty_times(ctx):
    """Issue 6's crash-safety check: a 500-message mailbox, `fetch --new --delete` SIGKILLed at 20
    random moments (a rerun after each), then a complete run: after every kill, server + disk
    hold every message (at most the one in flight twice), nothing partial in new/ or cur/."""
    seed = int.from_bytes(os.urandom(4), "big")
    print(f"  random seed {seed}")
    rnd = random.Random(seed)
    kills = [(f"after {d:.3f} s", after(d)) for d in (rnd.uniform(0.02, 0.12) for _ in range(20))]
    kill_scenario(ctx, "kill20", kills, must_kill=False, count=500)


# --------------------------------------------------------------------------- SIGKILL: dir:, mbox:, two accounts

MBOX_FROM_AT = re.compile(rb"(?m)^From \S+ (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ")


def target_copies(kind: str, out: Path, known: list[bytes], what: str) -> tuple[list[bytes], int]:
    """The complete messages a target holds after kills, and how many cut-off ones it has: a
    SIGKILL in the middle of an mbox append may leave the message being written cut off (the
    documented leftover of SIGKILL); every other target holds complete messages only."""
    if kind == "maildir":
        return [f.read_bytes() for sub in ("new", "cur") for f in listdir(out / sub)], 0
    if kind == "dir":
        return [f.read_bytes() for f in listdir(out) if f.name.endswith(".eml")], 0
    data = out.read_bytes() if out.exists() else b""
    starts = [m.start() for m in MBOX_FROM_AT.finditer(data)]
    check(not data or starts[:1] == [0], f"{what}: the mbox does not start with a From line")
    complete, cut = [], 0
    for a, b in zip(starts, starts[1:] + [len(data)]):
        body = QUOTED.sub(rb"\1", data[a:b].split(b"\n", 1)[1])
        if body.endswith(b"\n\n") and body[:-1] in known:
            complete.append(body[:-1])
        elif any(m.startswith(body[:-1] if body.endswith(b"\n") else body) for m in known):
            cut += 1
        else:
            mw.fail(f"{what}: the mbox holds a message that is none of the server's: {body[:120]!r}")
    return complete, cut


def kill_target_scenario(ctx, tag: str, kind: str, accounts: int, kills: int, count: int = 150):
    """fetch --new --delete --flush into one target, SIGKILLed at random moments; with two accounts
    (equal UIDs, as Dovecot gives mailboxes first opened in the same second) both go into the same
    target, in turn. After each kill and after the reruns: every message is on its server or
    complete in the target, nothing is recorded that is not there, nothing of another account was
    replaced; at the end every message of every account is there and the servers are empty."""
    if accounts == 2:
        boxes = list(mw.mailboxes_with_equal_uids(ctx, tag, count))
    else:
        boxes = [kill_box(ctx, tag, count)]
    out = ctx.scratch / ("out.mbox" if kind == "mbox" else "out")
    states = [ctx.scratch / "state" / f"box{i}.uids" for i in range(len(boxes))]
    known = [m for b in boxes for m in b.messages]
    seed = int.from_bytes(os.urandom(4), "big")
    print(f"  random seed {seed}")
    rnd = random.Random(seed)

    def args(i: int) -> list[str]:
        return ["fetch", "--new", "--delete", "--flush", "--state", str(states[i]), "-o", f"{kind}:{out}"]

    def check_state(what: str):
        copies, cut = target_copies(kind, out, known, what)
        for box, state in zip(boxes, states):
            on_disk = {m for m in copies if m in box.messages}
            server = set(box.server_uids())
            lost = [u for u, m in zip(box.uids, box.messages) if u not in server and m not in on_disk]
            check(not lost, f"{what}: {box.user}: {len(lost)} messages neither on the server nor stored")
            if state.exists():
                stored_uids = {u for u, m in zip(box.uids, box.messages) if m in on_disk}
                unbacked = [u for u in state_uids(state) if u not in stored_uids]
                check(not unbacked, f"{what}: {box.user}: the state records {len(unbacked)} UIDs "
                                    f"whose message is not stored: {unbacked[:5]}")
        return copies, cut

    done = 0
    for k in range(kills):
        i = k % len(boxes)
        delay = rnd.uniform(0.02, 0.15)
        if run_and_kill(ctx, boxes[i], args(i), after(delay), f"kill {k + 1} (account {i + 1}, {delay:.3f} s)",
                        must_kill=False):
            done += 1
        check_state(f"after kill {k + 1}")
    for i, box in enumerate(boxes):
        res = box.run(["--json"] + args(i), timeout=50)
        expect_ok(res, f"the rerun of account {i + 1} after the kills")
        eq(box.server_uids(), [], f"account {i + 1}'s server after the rerun", res)
    copies, cut = check_state("after the reruns")
    missing = [message_id(m) for m in known if m not in copies]
    eq(missing, [], "messages of any account not stored after the reruns")
    check(cut <= done, f"{cut} cut-off messages in the mbox after {done} kills")
    print(f"  {done} kills; {len(copies)} copies of {len(known)} messages, {cut} cut off by SIGKILL")


@scenario
def kill_dir_target(ctx):
    kill_target_scenario(ctx, "killdir", "dir", 1, 4)


@scenario
def kill_mbox_target(ctx):
    kill_target_scenario(ctx, "killmbox", "mbox", 1, 4)


@scenario
def kill_two_accounts_one_dir(ctx):
    kill_target_scenario(ctx, "kill2dir", "dir", 2, 6)


def files_in_new_more(md: Path, more: int):
    base = [None]

    def trig(p, lines):
        n = sum(1 for _ in os.scandir(md / "new")) if (md / "new").exists() else 0
        if base[0] is None:
            base[0] = n
        return n >= base[0] + more
    return trig


# --------------------------------------------------------------------------- the server hangs up in RETR

def fake_fetch(ctx, fake, target, extra=(), state=None):
    args = fake.conn() + ["fetch"] + list(extra) + ["-o", target]
    if state is not None:
        args += ["--state", str(state)]
    return ctx.run(args, password="fake-password", timeout=30)


def hangup_checks(fake, res, what):
    check(res.rc in (74, 75), f"{what}: exit code {res.rc}, expected 74 (or 75)", res)
    check(res.stderr_lines and mw.ERROR_LINE.match(res.stderr_lines[-1]), f"{what}: an error line on stderr", res)
    eq([v for v in fake.verbs() if v == "QUIT"], [], f"{what}: QUIT sent after the connection broke", res)
    eq(fake.committed_deletes, [], f"{what}: messages deleted", res)


@scenario
def hangup_in_retr_maildir(ctx):
    msg = message("cut1", size=20_000)
    state = ctx.scratch / "box.uids"
    md = ctx.scratch / "md"
    with mw.FakePop3([msg], cut_retr={1: 7000}) as fake:
        res = fake_fetch(ctx, fake, f"maildir:{md}", ["--new", "--delete"], state)
        hangup_checks(fake, res, "fetch -o maildir, server closes mid-RETR")
    for sub in ("new", "cur", "tmp"):
        eq(listdir(md / sub), [], f"{md}/{sub} after the broken RETR", res)
    check(not state.exists() or state_uids(state) == [], "no UID recorded in the state file", res)


@scenario
def hangup_in_retr_mbox(ctx):
    msg = message("cut2", size=20_000)
    path = ctx.scratch / "inbox.mbox"
    before = b"From someone@example.org Mon Jan  1 00:00:00 2024\nSubject: earlier\n\nan earlier message\n\n"
    path.write_bytes(before)
    os.chmod(path, 0o600)
    with mw.FakePop3([msg], cut_retr={1: 7000}) as fake:
        res = fake_fetch(ctx, fake, f"mbox:{path}", ["--delete"])
        hangup_checks(fake, res, "fetch -o mbox, server closes mid-RETR")
    eq(path.read_bytes(), before, "the mbox after the broken RETR (unchanged)", res)
    check(not Path(str(path) + ".lock").exists(), "the dot-lock is removed", res)


@scenario
def hangup_in_retr_dir(ctx):
    msg = message("cut3", size=20_000)
    d = ctx.scratch / "eml"
    with mw.FakePop3([msg], cut_retr={1: 7000}) as fake:
        res = fake_fetch(ctx, fake, f"dir:{d}", ["--delete"])
        hangup_checks(fake, res, "fetch -o dir, server closes mid-RETR")
    eq(listdir(d), [], "the directory after the broken RETR", res)


@scenario
def hangup_in_retr_after_one_stored(ctx):
    """Message 1 arrives whole, message 2 is cut: 1 is kept (and recorded), nothing is deleted."""
    msgs = [message("ok1", size=3000), message("cut4", size=20_000), message("never3")]
    state = ctx.scratch / "box.uids"
    md = ctx.scratch / "md"
    with mw.FakePop3(msgs, cut_retr={2: 9000}) as fake:
        res = fake_fetch(ctx, fake, f"maildir:{md}", ["--new", "--delete"], state)
        hangup_checks(fake, res, "fetch, server closes in the 2nd RETR")
    expect_maildir(md, [msgs[0]], "after the broken 2nd RETR: only the complete message", res)
    check(state.exists() and state_uids(state) == [fake.uids[0]],
          "the state file records the message that was stored", res)


@scenario
def hangup_at_quit(ctx):
    """The connection drops instead of +OK to QUIT: the messages are stored, but success is not
    claimed (74), and the summary does not say they were deleted."""
    msgs = [message("q1"), message("q2")]
    md = ctx.scratch / "md"
    with mw.FakePop3(msgs, quit_reply="close") as fake:
        res = fake_fetch(ctx, fake, f"maildir:{md}", ["--delete"])
    check(res.rc in (74, 75), f"exit code {res.rc}, expected 74 (or 75)", res)
    check(not re.search(r"deleted \d+ on the server", res.stdout), "no claim that anything was deleted", res)
    expect_maildir(md, msgs, "messages stored before QUIT", res)


@scenario
def quit_refused(ctx):
    msgs = [message("r1"), message("r2")]
    md = ctx.scratch / "md"
    with mw.FakePop3(msgs, quit_reply="-ERR [SYS/TEMP] could not delete") as fake:
        res = fake_fetch(ctx, fake, f"maildir:{md}", ["--delete"])
    mw.expect_error(res, 75, r"QUIT|delet", "fetch --delete, QUIT answered -ERR")
    expect_maildir(md, msgs, "messages stored before QUIT", res)


if __name__ == "__main__":
    raise SystemExit(mw.main())
