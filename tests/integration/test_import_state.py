#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""fetch --import-state TOOL:FILE (issue 17.3): moving from mpop, fetchmail or getmail without
downloading everything again. The real mpop, fetchmail and getmail retrieve a fresh mailbox of the
Dovecot fixture first (keeping the messages on the server), writing their records of retrieved
UIDs into the scenario's directory; then more mail arrives, and mailwrench, given that record,
must fetch only what the other tool had not. A record of another user or host, and a malformed
one, are refused before anything is fetched or written.

Every scenario makes its own mailbox (Ctx.mailbox): alice, bob and carol are only read."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import mwtest as mw
from mwtest import check, eq, expect_ok, scenario, message, message_id

CONFIG_EXIT = 78
DATA_EXIT = 65
USAGE_EXIT = 64
NO_INPUT_EXIT = 66


# --------------------------------------------------------------------------- the other tools

def need(tool: str):
    if shutil.which(tool) is None:
        raise mw.Skip(f"{tool} is not installed (scripts/install-deps.sh installs it)")


def run_tool(ctx, argv: list[str], what: str, ok=(0,)):
    env = ctx.base_env(None)
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60,
                       stdin=subprocess.DEVNULL, errors="replace")
    check(p.returncode in ok,
          f"{what} exited {p.returncode}\n  stdout: {mw.redact(p.stdout)}\n  stderr: {mw.redact(p.stderr)}")


def mpop_retrieves(ctx, box: mw.Mailbox, uidls: Path):
    """The real mpop fetches box (POP3S, the fixture's CA, keep on): its record is uidls."""
    need("mpop")
    e = ctx.env
    md = ctx.scratch / f"mpop-md-{box.user}"
    for d in ("cur", "new", "tmp"):
        (md / d).mkdir(parents=True, exist_ok=True)
    rc = ctx.file(f"mpoprc-{box.user}", f"""account default
host {e['host']}
port {e['pop3s_port']}
tls on
tls_starttls off
tls_trust_file {e['ca']}
auth user
user {box.user}
password {box.password}
uidls_file {uidls}
delivery maildir {md}
received_header off
keep on
only_new on
""")
    run_tool(ctx, ["mpop", "-C", str(rc), "-q"], "mpop")
    return sorted(p.name for p in (md / "new").iterdir())


def fetchmail_retrieves(ctx, box: mw.Mailbox, fetchids: Path):
    """The real fetchmail fetches box (POP3S, uidl, keep) into a sink MDA: its record is
    fetchids."""
    need("fetchmail")
    e = ctx.env
    rc = ctx.file(f"fetchmailrc-{box.user}",
                  f'set no bouncemail\n'
                  f'poll {e["host"]} service {e["pop3s_port"]} protocol pop3 uidl auth password timeout 30\n'
                  f'  user "{box.user}" there with password "{box.password}" is "root" here\n'
                  f'  ssl sslcertck sslcertfile {e["ca"]} sslcommonname localhost keep\n'
                  f'  mda "cat >/dev/null"\n')
    run_tool(ctx, ["fetchmail", "-N", "-s", "--nosyslog", "--pidfile", str(ctx.scratch / "fetchmail.pid"),
                   "-i", str(fetchids), "-f", str(rc)], "fetchmail")


def getmail_retrieves(ctx, box: mw.Mailbox, getmaildir: Path) -> Path:
    """The real getmail fetches box (POP3-over-SSL, delete = false) into a sink MDA: its record
    is getmaildir/oldmail-HOST-PORT-USER, which it returns."""
    need("getmail")
    e = ctx.env
    getmaildir.mkdir(parents=True, exist_ok=True)
    rc = ctx.file(f"getmailrc-{box.user}", f"""[retriever]
type = SimplePOP3SSLRetriever
server = {e['host']}
port = {e['pop3s_port']}
username = {box.user}
password = {box.password}
ca_certs = {e['ca']}
[destination]
type = MDA_external
path = /bin/sh
arguments = ("-c", "cat >/dev/null")
allow_root_commands = true
[options]
delete = false
read_all = false
verbose = 0
""")
    run_tool(ctx, ["getmail", "--getmaildir", str(getmaildir), "--rcfile", str(rc)], "getmail")
    records = list(getmaildir.glob("oldmail-*"))
    eq(len(records), 1, f"getmail's oldmail files in {getmaildir}")
    return records[0]


# --------------------------------------------------------------------------- helpers

def new_box(ctx, tag: str, count: int) -> mw.Mailbox:
    return ctx.mailbox([message(f"{tag}-old{i}", body=f"old {i} of {tag}\n" * 5) for i in range(count)], tag)


def more_mail(box: mw.Mailbox, tag: str, count: int) -> list[bytes]:
    new = [message(f"{tag}-new{i}", body=f"new {i} of {tag}\n" * 5) for i in range(count)]
    box.deliver(new)
    return new


def stored_ids(md: Path) -> list[str]:
    files = list((md / "new").iterdir()) if (md / "new").is_dir() else []
    files += list((md / "cur").iterdir()) if (md / "cur").is_dir() else []
    return sorted(message_id(f.read_bytes()) or "?" for f in files)


def state_uids(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return sorted(l for l in lines if l and not l.startswith("#"))


def imports_then_fetches_new(ctx, tool: str, retrieve):
    """tool's real run records box's 3 messages; 2 arrive; fetch --import-state stores the 2 only,
    says it took 3; a second identical run takes and stores nothing and changes no state."""
    box = new_box(ctx, tool, 3)
    record = retrieve(ctx, box)
    new = more_mail(box, tool, 2)
    md, state = ctx.scratch / "md", ctx.scratch / "state.uids"
    args = ["fetch", "--import-state", f"{tool}:{record}", "--state", str(state), "-o", f"maildir:{md}"]
    res = box.run(args)
    expect_ok(res, f"fetch --import-state {tool}:FILE (--new implied)")
    eq(stored_ids(md), sorted(message_id(m) for m in new),
       "only the messages the other tool had not retrieved are stored", res)
    check(f"imported 3 UIDs from {tool}'s record {record} (0 recorded already)" in res.stdout,
          "the plain summary says how many UIDs were imported", res)
    eq(state_uids(state), sorted(box.uids), "the state records the imported and the stored UIDs", res)
    saved = state.read_bytes()

    res = box.run(["--json"] + args)
    expect_ok(res, "the same import again")
    doc = res.json()
    eq(doc.get("imported"), {"from": tool, "file": str(record), "taken": 0, "already": 3},
       "the JSON document's imported object", res)
    eq(doc.get("count"), 0, "nothing is stored again", res)
    eq(len(stored_ids(md)), 2, "files in the Maildir after the second run", res)
    eq(state.read_bytes(), saved, "the state file after importing twice", res)


def refused(ctx, box: mw.Mailbox, spec: str, code: int, pattern: str, what: str,
            conn: list[str] | None = None):
    """fetch --import-state SPEC exits CODE naming PATTERN; nothing stored, no state written
    (neither --state nor the default), an earlier state file unchanged."""
    md = ctx.scratch / "refused-md"
    state = ctx.scratch / "refused-state.uids"
    run = lambda args: ctx.run((conn or box.conn()) + args, password=box.password)
    res = run(["fetch", "--import-state", spec, "--state", str(state), "-o", f"maildir:{md}"])
    mw.expect_error(res, code, pattern, what)
    eq(stored_ids(md), [], f"{what}: messages stored", res)
    check(not state.exists(), f"{what}: no state file may be written", res)
    res = run(["fetch", "--import-state", spec, "-o", f"maildir:{md}"])
    mw.expect_error(res, code, pattern, f"{what} (default state file)")
    default_dir = ctx.home / ".local" / "state" / "mailwrench"
    eq(sorted(p.name for p in default_dir.glob("*.uids")) if default_dir.is_dir() else [], [],
       f"{what}: state files in the default directory", res)
    # A state file of earlier runs is left as it was.
    expect_ok(run(["fetch", "--new", "--state", str(state), "-o", f"maildir:{md}", "1"]),
              "an earlier fetch --new of message 1")
    before = state.read_bytes()
    res = run(["fetch", "--import-state", spec, "--state", str(state), "-o", f"maildir:{md}"])
    mw.expect_error(res, code, pattern, f"{what} (with an earlier state file)")
    eq(state.read_bytes(), before, f"{what}: the earlier state file", res)
    eq(len(stored_ids(md)), 1, f"{what}: only the earlier run's message is stored", res)
    shutil.rmtree(md)
    state.unlink()


# --------------------------------------------------------------------------- scenarios

@scenario
def mpop_record_then_only_new(ctx):
    def retrieve(ctx, box):
        uidls = ctx.scratch / "mpop-uidls"
        mpop_retrieves(ctx, box, uidls)
        check(f" 3 {ctx.env['host']} {box.user}\n" in uidls.read_text(),
              f"mpop's uidls file has a list of 3 for the box:\n{uidls.read_text()}")
        return uidls
    imports_then_fetches_new(ctx, "mpop", retrieve)


@scenario
def fetchmail_record_then_only_new(ctx):
    def retrieve(ctx, box):
        ids = ctx.scratch / "fetchids"
        fetchmail_retrieves(ctx, box, ids)
        eq(sorted(l.split(" ", 1)[1] for l in ids.read_text().splitlines()), sorted(box.uids),
           "fetchmail's .fetchids records the box's 3 UIDs")
        return ids
    imports_then_fetches_new(ctx, "fetchmail", retrieve)


@scenario
def getmail_record_then_only_new(ctx):
    def retrieve(ctx, box):
        record = getmail_retrieves(ctx, box, ctx.scratch / "getmail")
        eq(record.name, f"oldmail-{ctx.env['host']}-{ctx.env['pop3s_port']}-{box.user}",
           "getmail's record's name")
        return record
    imports_then_fetches_new(ctx, "getmail", retrieve)


@scenario
def getmail_record_written_by_hand(ctx):
    """The format getmail 6 documents and writes: "UID\\0SECONDS" a line, in a file named
    oldmail-HOST-PORT-USER; 2 of 3 UIDs recorded, so 1 message is fetched."""
    box = new_box(ctx, "gmhand", 3)
    e = ctx.env
    record = ctx.scratch / "getmail" / f"oldmail-{e['host']}-{e['pop3s_port']}-{box.user}"
    record.parent.mkdir()
    record.write_bytes(b"".join(f"{u}\0{1796305563 + i}\n".encode() for i, u in enumerate(box.uids[:2])))
    md = ctx.scratch / "md"
    res = box.run(["--json", "fetch", "--import-state", f"getmail:{record}", "-o", f"maildir:{md}"])
    expect_ok(res, "fetch --import-state getmail:FILE")
    eq(res.json().get("imported"), {"from": "getmail", "file": str(record), "taken": 2, "already": 0},
       "the imported object", res)
    eq(stored_ids(md), [message_id(box.msg(3))], "only message 3 is stored", res)


@scenario
def imported_uids_gone_from_the_server_are_dropped(ctx):
    """UIDs the record holds that the server no longer has are not kept: the state is retained
    to the server's UIDs like any other."""
    box = new_box(ctx, "gone", 2)
    ids = ctx.scratch / "fetchids"
    ids.write_text("".join(f"{box.user}@{ctx.env['host']} {u}\n" for u in box.uids + ["gone-1", "gone-2"]))
    state = ctx.scratch / "state.uids"
    res = box.run(["--json", "fetch", "--import-state", f"fetchmail:{ids}", "--state", str(state),
                   "-o", f"maildir:{ctx.scratch}/md"])
    expect_ok(res, "fetch --import-state")
    eq(res.json()["imported"]["taken"], 4, "UIDs taken", res)
    eq(res.json()["count"], 0, "messages stored", res)
    eq(state_uids(state), sorted(box.uids), "the state after the fetch", res)


@scenario
def import_only_with_limit_0_then_new(ctx):
    """--limit 0 imports without fetching (what the manual suggests for a look first); the next
    plain fetch --new, without --import-state, fetches what the other tool had not."""
    box = new_box(ctx, "only", 3)
    ids = ctx.scratch / "fetchids"
    ids.write_text(f"{box.user}@{ctx.env['host']} {box.uids[0]}\n{box.user}@{ctx.env['host']} gone-1\n")
    md = ctx.scratch / "md"
    res = box.run(["--json", "fetch", "--import-state", f"fetchmail:{ids}", "--limit", "0",
                   "-o", f"maildir:{md}"])
    expect_ok(res, "fetch --import-state --limit 0")
    eq((res.json()["imported"]["taken"], res.json()["count"]), (2, 0), "UIDs taken, messages stored", res)
    eq(stored_ids(md), [], "messages stored by the import alone", res)
    res = box.run(["fetch", "--new", "-o", f"maildir:{md}"])
    expect_ok(res, "the next fetch --new")
    eq(stored_ids(md), sorted(message_id(box.msg(n)) for n in (2, 3)),
       "the next fetch --new stores what the other tool had not", res)
    default = ctx.home / ".local" / "state" / "mailwrench" / f"{box.user}@{ctx.env['host']}-{ctx.env['pop3s_port']}.uids"
    eq(state_uids(default), sorted(box.uids), "the default state file", res)


@scenario
def another_users_record_refused(ctx):
    """Records of another user are refused (78), nothing fetched, no state written."""
    mine = new_box(ctx, "mine", 2)
    theirs = new_box(ctx, "theirs", 2)
    uidls = ctx.scratch / "their-uidls"
    mpop_retrieves(ctx, theirs, uidls)
    refused(ctx, mine, f"mpop:{uidls}", CONFIG_EXIT, rf"{theirs.user}@.*not of {mine.user}@",
            "mpop's record of another user")
    ids = ctx.scratch / "their-fetchids"
    fetchmail_retrieves(ctx, theirs, ids)
    refused(ctx, mine, f"fetchmail:{ids}", CONFIG_EXIT, rf"{theirs.user}@.*not of {mine.user}@",
            "fetchmail's record of another user")
    e = ctx.env
    gm = ctx.scratch / f"oldmail-{e['host']}-{e['pop3s_port']}-{theirs.user}"
    gm.write_bytes(f"{theirs.uids[0]}\0{1796305563}\n".encode())
    refused(ctx, mine, f"getmail:{gm}", CONFIG_EXIT, rf"oldmail-{e['host']}-{e['pop3s_port']}-{mine.user}",
            "getmail's record of another user")


@scenario
def another_hosts_record_refused(ctx):
    """A record of the same user on another host name (mailwrench is given 127.0.0.1, the tool had
    localhost: the tools compare names, and so does the import) is refused (78)."""
    box = new_box(ctx, "host", 2)
    uidls = ctx.scratch / "uidls"
    mpop_retrieves(ctx, box, uidls)
    by_ip = ctx.conn("pop3s", user=box.user, host=ctx.env["ip"])
    refused(ctx, box, f"mpop:{uidls}", CONFIG_EXIT, rf"{box.user}@{ctx.env['host']}.*not of "
            rf"{box.user}@{ctx.env['ip']}", "mpop's record of another host", by_ip)
    # getmail's name holds the port too.
    e = ctx.env
    gm = ctx.scratch / f"oldmail-{e['host']}-{e['pop3_port']}-{box.user}"
    gm.write_bytes(f"{box.uids[0]}\0{1796305563}\n".encode())
    refused(ctx, box, f"getmail:{gm}", CONFIG_EXIT, "oldmail-", "getmail's record of another port")


@scenario
def malformed_record_refused(ctx):
    """A record that is not whole (mpop's list cut short, a fetchmail line without its UID, a
    getmail line without its NUL) is refused (65) naming the line: nothing is imported, not even
    the valid lines before it."""
    box = new_box(ctx, "bad", 2)
    h = ctx.env["host"]
    uidls = ctx.file("uidls", f"# mpop\n 3 {h} {box.user}\n{box.uids[0]}\n{box.uids[1]}\n")
    refused(ctx, box, f"mpop:{uidls}", DATA_EXIT, rf"{uidls}:4: .*has 2 of the 3 UIDs",
            "mpop's record cut short")
    ids = ctx.file("fetchids", f"{box.user}@{h} {box.uids[0]}\n{box.user}@{h}\n")
    refused(ctx, box, f"fetchmail:{ids}", DATA_EXIT, rf"{ids}:2: ", "a .fetchids line without its UID")
    e = ctx.env
    gm = ctx.scratch / f"oldmail-{h}-{e['pop3s_port']}-{box.user}"
    gm.write_bytes(f"{box.uids[0]}\0{1}\n{box.uids[1]} 2\n".encode())
    refused(ctx, box, f"getmail:{gm}", DATA_EXIT, rf"{gm}:2: ", "a getmail line without its NUL")


@scenario
def missing_record_and_bad_option(ctx):
    box = new_box(ctx, "opt", 1)
    refused(ctx, box, f"mpop:{ctx.scratch}/no-such-file", NO_INPUT_EXIT, "no-such-file",
            "a missing record")
    md = ctx.scratch / "md"
    for spec in ("thunderbird:x", "mpop:", "fetchids"):
        res = box.run(["fetch", "--import-state", spec, "-o", f"maildir:{md}"])
        mw.expect_error(res, USAGE_EXIT, "--import-state", f"--import-state {spec}")
    ids = ctx.file("fetchids", f"{box.user}@{ctx.env['host']} {box.uids[0]}\n")
    res = box.run(["fetch", "--import-state", f"fetchmail:{ids}", "--flush", "-o", f"maildir:{md}"])
    mw.expect_error(res, USAGE_EXIT, "--flush", "--import-state with --flush")
    eq(stored_ids(md), [], "messages stored", res)
    eq(box.server_uids(), box.uids, "the server's messages", res)


mw.main()
