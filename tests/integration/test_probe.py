#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""send --quit-after (probing without sending) against the real Postfix of postfix_fixture.py,
and send --lmtp against the LMTP listener of the Dovecot fixture (dovecot_fixture.py adds one,
on a TCP port and the Unix socket run/lmtp, when dovecot-lmtpd is installed).

A probe must send no message: besides the exit code and the per-stage report, the scenarios on
Postfix's port without STARTTLS read the command counts Postfix logs when the session ends
("disconnect from unknown[127.0.0.41]:PORT ehlo=1 mail=1 rcpt=1/2 quit=1"): no DATA, a QUIT;
and the recipient's Maildir stays as it was. Each such scenario connects from a loopback address
of its own (--source-address), which finds its session in the log whatever else uses the port
at the time: a lock would have to be taken by every other user of the port, in every file.
"""
from __future__ import annotations

import fcntl
import os
import re
import time
from pathlib import Path

import mwtest as mw
from mwtest import check, eq, fail
import postfix_fixture as pfx

EX_PARTIAL, EX_USAGE, EX_DATAERR, EX_TEMPFAIL = 1, 64, 65, 75
PROBE_KEYS = {"quit_after", "protocol", "greeting", "tls", "auth", "from", "mail", "recipients",
              "accepted", "rejected", "sent"}
RCPT_KEYS = {"address", "accepted", "code", "enhanced", "text"}


# --------------------------------------------------------------------------- Postfix

def postfix(ctx) -> dict:
    if "smtp_port" not in ctx.env or "send_users" not in ctx.env:
        raise mw.Skip("the Postfix fixture is not running ('integration: postfix_start' was skipped or failed)")
    known = {s for s, _ in mw._SECRETS}
    for name, u in ctx.env["send_users"].items():
        if u["password"] not in known:
            mw._SECRETS.append((u["password"], f"<password of {name}>"))
    mw._SECRETS.sort(key=lambda s: -len(s[0]))
    return ctx.env


def claim(ctx) -> dict:
    """A send user no other scenario of this fixture run has had (the counter test_send.py uses)."""
    users = ctx.env["send_users"]
    names = sorted(users)
    with open(ctx.dir / "postfix" / "send-users.claimed", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        k = int(f.read().strip() or 0)
        f.seek(0)
        f.truncate()
        f.write(str(k + 1))
    name = names[k % len(names)]
    return {"name": name, **users[name]}


def maildir_files(maildir: Path) -> set[str]:
    return {p.name for sub in ("new", "cur") for p in (maildir / sub).iterdir()} if maildir.exists() else set()


def probe_session(ctx, source: str, args: list[str], what: str) -> tuple[mw.Result, str]:
    """Runs mailwrench on the plain port from the loopback address source (one no other
    scenario uses) and returns its result and the command counts Postfix logged for that one
    session ("ehlo=1 mail=1 rcpt=1/2 quit=1 commands=4/5")."""
    offset = pfx.log_offset(ctx.dir)
    res = ctx.run(plain_args(ctx) + ["--source-address", source] + args)
    name = re.escape(ctx.env["postfix_log_names"]["smtp_plain_port"])
    ours = re.compile(rf"{name}/smtpd\[\d+\]: disconnect from [^\s\[]*\[{re.escape(source)}\]:\d+ (.*)")
    deadline = time.monotonic() + 10
    while True:
        lines = pfx.log_lines(ctx.dir, offset)[0]
        discs = [m.group(1) for m in map(ours.search, lines) if m]
        if discs:
            eq(len(discs), 1, f"{what}: sessions from {source} on the plain port", res)
            return res, discs[0]
        if time.monotonic() > deadline:
            fail(f"{what}: Postfix logged no end of the session from {source}:\n" + "\n".join(lines[-15:]), res)
        time.sleep(0.1)


def plain_args(ctx) -> list[str]:
    e = ctx.env
    return ["-H", e["smtp_host"], "-p", str(e["smtp_plain_port"]), "--tls", "none", "--timeout", "20"]


def submission_args(ctx, user: dict | None = None) -> list[str]:
    e = ctx.env
    args = ["-H", e["smtp_host"], "-p", str(e["smtp_port"]), "--tls", "starttls", "--cacert", e["ca"],
            "--timeout", "20"]
    return args + (["-u", user["name"]] if user else [])


def probe_doc(res: mw.Result, what: str, stage: str) -> dict:
    doc = res.json()
    check(isinstance(doc, dict), f"{what}: --json output is not an object", res)
    eq(sorted(doc), sorted(PROBE_KEYS), f"{what}: the keys of the --json document", res)
    eq(doc["quit_after"], stage, f"{what}: quit_after", res)
    eq(doc["sent"], False, f"{what}: sent", res)
    eq(doc["greeting"]["code"], 220, f"{what}: greeting.code", res)
    for r in doc["recipients"]:
        eq(sorted(r), sorted(RCPT_KEYS), f"{what}: the keys of a recipient", res)
    return doc


def check_outcomes(doc: dict, outcome: dict[str, tuple], what: str, res: mw.Result) -> None:
    """outcome: address -> (accepted, code, enhanced) in command-line order."""
    eq([r["address"] for r in doc["recipients"]], list(outcome), f"{what}: recipients, in order", res)
    for r in doc["recipients"]:
        acc, code, enh = outcome[r["address"]]
        eq((r["accepted"], r["code"], r["enhanced"]), (acc, code, enh), f"{what}: outcome of {r['address']}", res)
        if not acc:
            check(r["text"].strip(), f"{what}: the server's text for {r['address']} is missing", res)
    eq((doc["accepted"], doc["rejected"]),
       (sum(1 for o in outcome.values() if o[0]), sum(1 for o in outcome.values() if not o[0])),
       f"{what}: accepted/rejected counts", res)


def check_plain(res: mw.Result, outcome: dict[str, tuple], what: str) -> None:
    for addr, (acc, code, enh) in outcome.items():
        verdict = "accepted" if acc else "deferred" if 400 <= code < 500 else "rejected"
        pat = rf"^{verdict} {re.escape(addr)} {code}" + (rf" {re.escape(enh)}\b" if enh else r"\b")
        check(re.search(pat, res.stdout, re.M), f"{what}: no line /{pat}/ in the plain output", res)


@mw.scenario
def quit_after_connect(ctx):
    postfix(ctx)
    res, counts = probe_session(ctx, "127.0.0.41", ["--json", "send", "--quit-after", "connect"],
                                "quit-after connect")
    eq(res.rc, 0, "quit-after connect: exit code", res)
    doc = probe_doc(res, "quit-after connect", "connect")
    eq((doc["tls"], doc["auth"], doc["mail"], doc["recipients"]), (None, None, None, []),
       "quit-after connect: nothing after the greeting", res)
    check(re.search(r"\bquit=1\b", counts) and not re.search(r"\b(ehlo|helo|mail|rcpt|data)=", counts),
          f"quit-after connect: Postfix saw {counts!r}, not QUIT alone", res)


@mw.scenario
def quit_after_tls(ctx):
    postfix(ctx)
    res = ctx.run(submission_args(ctx) + ["--json", "send", "--quit-after", "tls"])
    eq(res.rc, 0, "quit-after tls: exit code", res)
    doc = probe_doc(res, "quit-after tls", "tls")
    check(isinstance(doc["tls"], str) and doc["tls"].startswith("TLSv1."), f"quit-after tls: tls {doc['tls']!r}", res)
    eq((doc["auth"], doc["mail"]), (None, None), "quit-after tls: no AUTH, no MAIL", res)
    res = ctx.run(submission_args(ctx) + ["send", "--quit-after", "tls"])
    eq(res.rc, 0, "quit-after tls (plain): exit code", res)
    check(re.search(r"^greeting 220 ", res.stdout, re.M) and re.search(r"^tls TLSv1\.\d ", res.stdout, re.M)
          and re.search(r"^quit after tls: no message was sent$", res.stdout, re.M),
          "quit-after tls: the plain report", res)
    # Implicit TLS (SMTPS): the handshake comes with the connection, so connect reports it.
    e = ctx.env
    res = ctx.run(["-H", e["smtp_host"], "-p", str(e["smtps_port"]), "--tls", "implicit", "--cacert", e["ca"],
                   "--json", "send", "--quit-after", "connect"])
    eq(res.rc, 0, "quit-after connect, SMTPS: exit code", res)
    doc = probe_doc(res, "quit-after connect, SMTPS", "connect")
    check(isinstance(doc["tls"], str) and doc["tls"].startswith("TLSv1."),
          f"quit-after connect, SMTPS: tls {doc['tls']!r}", res)


@mw.scenario
def quit_after_auth(ctx):
    postfix(ctx)
    user = claim(ctx)
    before = maildir_files(Path(user["maildir"]))
    res = ctx.run(submission_args(ctx, user) + ["--json", "send", "--quit-after", "auth",
                                               "--from", user["address"], "--to", user["address"]],
                  password=user["password"])
    eq(res.rc, 0, "quit-after auth: exit code", res)
    doc = probe_doc(res, "quit-after auth", "auth")
    check(isinstance(doc["auth"], dict) and doc["auth"]["user"] == user["name"] and doc["auth"]["mechanism"],
          f"quit-after auth: auth {doc['auth']!r}", res)
    eq((doc["mail"], doc["recipients"]), (None, []), "quit-after auth: no MAIL, no RCPT", res)
    found = mw.transcript_has_secret(res.stdout + res.stderr, user["name"], user["password"])
    check(not found, f"quit-after auth: the output contains {found}", res)
    # A wrong password fails as send fails: 77, whatever the stop point.
    res = ctx.run(submission_args(ctx, user) + ["send", "--quit-after", "auth"], password="wrong-password")
    mw.expect_error(res, 77, r"authentication", "quit-after auth, wrong password")
    time.sleep(1)
    eq(maildir_files(Path(user["maildir"])), before, "quit-after auth: the Maildir", res)


@mw.scenario
def quit_after_mail(ctx):
    postfix(ctx)
    res, counts = probe_session(ctx, "127.0.0.42", ["--json", "send", "--quit-after", "mail", "--from",
                                                    "probe@example.org"], "quit-after mail")
    eq(res.rc, 0, "quit-after mail: exit code", res)
    doc = probe_doc(res, "quit-after mail", "mail")
    eq((doc["from"], doc["mail"]["code"], doc["recipients"]), ("probe@example.org", 250, []),
       "quit-after mail: the sender accepted, no RCPT", res)
    check(re.search(r"\bmail=1\b", counts) and re.search(r"\bquit=1\b", counts)
          and not re.search(r"\b(rcpt|data|bdat)=", counts),
          f"quit-after mail: Postfix saw {counts!r}", res)


@mw.scenario
def quit_after_mail_refused(ctx):
    postfix(ctx)
    res = ctx.run(plain_args(ctx) + ["--json", "send", "--quit-after", "rcpt", "--from", "mail-reject@example.org",
                                    "--to", "nobody@lab.test"])
    eq(res.rc, EX_DATAERR, "refused sender: exit code", res)
    doc = probe_doc(res, "refused sender", "rcpt")
    eq((doc["mail"]["code"], doc["mail"]["enhanced"], doc["recipients"]), (553, "5.7.1", []),
       "refused sender: MAIL refused, no RCPT asked", res)
    check(re.search(r"refused the sender", res.stderr), "refused sender: stderr says why", res)


@mw.scenario
def quit_after_rcpt_partial(ctx):
    """One recipient Postfix knows, one it refuses (unknown local user): 1, like send's partial;
    nothing is delivered, and Postfix never saw DATA."""
    postfix(ctx)
    user = claim(ctx)
    maildir = Path(user["maildir"])
    before = maildir_files(maildir)
    unknown = ctx.env["smtp_unknown_rcpt"]
    outcome = {user["address"]: (True, 250, "2.1.5"), unknown: (False, 550, "5.1.1")}
    res, counts = probe_session(ctx, "127.0.0.43", ["--json", "send", "--quit-after", "rcpt", "--from",
                                                    "probe@example.org", "--to", user["address"], "--to", unknown],
                                "quit-after rcpt")
    eq(res.rc, EX_PARTIAL, "quit-after rcpt, one refused: exit code", res)
    doc = probe_doc(res, "quit-after rcpt", "rcpt")
    check_outcomes(doc, outcome, "quit-after rcpt", res)
    check(re.search(r"\brcpt=1/2\b", counts) and re.search(r"\bquit=1\b", counts)
          and not re.search(r"\b(data|bdat)=", counts),
          f"quit-after rcpt: Postfix saw {counts!r} (RCPT twice, one refused, QUIT, no DATA)", res)
    check(re.search(re.escape(unknown), res.stderr), "quit-after rcpt: stderr names the refused recipient", res)
    # The same as plain text.
    res = ctx.run(plain_args(ctx) + ["send", "--quit-after", "rcpt", "--from", "probe@example.org",
                                    "--to", user["address"], "--to", unknown])
    eq(res.rc, EX_PARTIAL, "quit-after rcpt (plain): exit code", res)
    check_plain(res, outcome, "quit-after rcpt (plain)")
    check(re.search(r"^sender accepted probe@example\.org 250\b", res.stdout, re.M),
          "quit-after rcpt (plain): the sender line", res)
    time.sleep(2)
    eq(maildir_files(maildir), before, "quit-after rcpt: no message arrived in the Maildir", res)


@mw.scenario
def quit_after_rcpt_all_accepted(ctx):
    postfix(ctx)
    user = claim(ctx)
    res = ctx.run(plain_args(ctx) + ["--quiet", "send", "--quit-after", "RCPT", "--from", "probe@example.org",
                                    "--to", user["address"]])
    eq((res.rc, res.stdout), (0, ""), "quit-after rcpt, accepted, --quiet: exit code and output", res)


@mw.scenario
def quit_after_rcpt_refused(ctx):
    """swaks' loop over addresses: non-zero when the address is refused: 65 for 5xx, 75 for 4xx."""
    postfix(ctx)
    for rcpt, code, reply in ((ctx.env["smtp_unknown_rcpt"], EX_DATAERR, 550),
                              (ctx.env["smtp_defer_rcpt"], EX_TEMPFAIL, 450)):
        res = ctx.run(plain_args(ctx) + ["--json", "send", "--quit-after", "rcpt", "--from", "probe@example.org",
                                        "--to", rcpt])
        eq(res.rc, code, f"quit-after rcpt {rcpt}: exit code", res)
        doc = probe_doc(res, f"quit-after rcpt {rcpt}", "rcpt")
        eq((doc["recipients"][0]["accepted"], doc["recipients"][0]["code"]), (False, reply),
           f"quit-after rcpt {rcpt}: the refusal", res)


@mw.scenario
def quit_after_usage(ctx):
    """Nothing of a message applies to a probe, and stdin is not read; bad stop points."""
    postfix(ctx)
    base = plain_args(ctx) + ["send"]
    for args, pattern in ((["--quit-after", "data"], r"--quit-after 'data'"),
                          (["--quit-after", "rcpt", "--from", "a@example.org"], r"recipient"),
                          (["--quit-after", "mail"], r"--from"),
                          (["--quit-after", "rcpt", "--from", "a@example.org", "--to", "b@lab.test",
                            "--body", "x"], r"--body"),
                          (["--quit-after", "rcpt", "--from", "a@example.org", "--to", "b@lab.test",
                            "--raw"], r"--raw")):
        res = ctx.run(base + args)
        mw.expect_error(res, EX_USAGE, pattern, f"send {' '.join(args)}")
    # A bad address is refused before anything connects (a port nobody listens on: not 69).
    res = ctx.run(["-H", "127.0.0.1", "-p", str(mw.closed_port()), "--tls", "none", "send", "--quit-after",
                   "rcpt", "--from", "a@example.org", "--to", "not an address"])
    check(res.rc in (EX_USAGE, EX_DATAERR), f"quit-after rcpt, bad address: exit code {res.rc}", res)
    # A message on stdin is not what a probe reads: it is left there.
    res = ctx.run(base + ["--quit-after", "mail", "--from", "a@example.org"], stdin="From: x\n\nhello\n")
    eq(res.rc, 0, "quit-after mail with stdin: exit code", res)


# --------------------------------------------------------------------------- LMTP (Dovecot)

def lmtp(ctx) -> dict:
    if "lmtp_port" not in ctx.env:
        raise mw.Skip("the Dovecot fixture has no LMTP listener (apt-get install dovecot-lmtpd)")
    return ctx.env


def lmtp_message(box: mw.Mailbox, needle: str, what: str, res: mw.Result) -> bytes:
    for _ in range(50):
        for sub in ("new", "cur"):
            for p in (box.maildir / sub).iterdir():
                data = p.read_bytes()
                if needle.encode() in data:
                    return data
        time.sleep(0.1)
    fail(f"{what}: no message with {needle!r} in {box.user}'s Maildir", res)


def lmtp_send(ctx, where: list[str], recipients: list[str], needle: str, extra: list[str] | None = None,
              send_args: list[str] | None = None) -> mw.Result:
    return ctx.run(where + (extra or []) + ["send", "--lmtp", *(send_args or []), "--from", "sender@example.org",
                                            *sum((["--to", r] for r in recipients), []),
                                            "--subject", needle, "--body", f"LMTP test {needle}\n"])


@mw.scenario
def lmtp_partial_tcp(ctx):
    """One mail to two recipients, one Dovecot knows and one it does not: per-recipient result,
    exit 1, and the one it knows has the message in its Maildir."""
    env = lmtp(ctx)
    box = ctx.mailbox([], "lmtp")
    known = f"{box.user}@lab.test"
    unknown = f"nobody-{os.getpid()}@lab.test"
    needle = f"mwt-lmtp-{os.getpid()}-{os.urandom(4).hex()}"
    where = ["-H", env["ip"], "-p", str(env["lmtp_port"]), "--timeout", "20"]
    res = lmtp_send(ctx, where, [known, unknown], needle, ["--json"])
    eq(res.rc, EX_PARTIAL, "LMTP, one recipient unknown: exit code", res)
    doc = res.json()
    rcpts = {r["address"]: r for r in doc["recipients"]}
    eq(list(rcpts), [known, unknown], "LMTP: recipients, in order", res)
    eq((rcpts[known]["accepted"], rcpts[known]["code"], rcpts[known]["enhanced"]), (True, 250, "2.0.0"),
       "LMTP: the known recipient's reply after the message", res)
    check(re.search(r"Saved", rcpts[known]["text"]), "LMTP: Dovecot's 'Saved' for the known recipient", res)
    eq((rcpts[unknown]["accepted"], rcpts[unknown]["code"], rcpts[unknown]["enhanced"]), (False, 550, "5.1.1"),
       "LMTP: the unknown recipient refused at RCPT", res)
    eq((doc["accepted"], doc["rejected"], doc["data"]), (1, 1, None), "LMTP: counts, and no single reply to DATA", res)
    data = lmtp_message(box, needle, "LMTP", res)
    check(re.search(rb"^Subject: " + needle.encode(), data, re.M), "LMTP: the delivered message's Subject", res)
    check(re.search(rb"^Delivered-To: " + re.escape(known.encode()), data, re.M | re.I),
          "LMTP: Dovecot's Delivered-To header names the known recipient", res)
    check(re.search(r"went to the accepted recipients only; refused: " + re.escape(unknown), res.stderr),
          "LMTP: the warning names the refused recipient", res)


@mw.scenario
def lmtp_tcp_allow_plaintext(ctx):
    """--lmtp over TCP is without TLS unless asked, so --allow-plaintext needs no --tls none
    beside it (it was refused as 'only with --tls none' when the default was still implicit
    TLS); without --lmtp the same options are still a usage error."""
    env = lmtp(ctx)
    box = ctx.mailbox([], "lmtpplain")
    needle = f"mwt-lmtpp-{os.getpid()}-{os.urandom(4).hex()}"
    where = ["-H", env["ip"], "-p", str(env["lmtp_port"]), "--timeout", "20", "--allow-plaintext"]
    res = lmtp_send(ctx, where, [f"{box.user}@lab.test"], needle)
    mw.expect_ok(res, "send --lmtp --allow-plaintext over TCP")
    lmtp_message(box, needle, "LMTP with --allow-plaintext", res)
    res = ctx.run(where + ["send", "--from", "a@example.org", "--to", "b@example.org", "--body", "x"])
    mw.expect_error(res, 64, r"--allow-plaintext only makes sense with --tls none",
                    "--allow-plaintext for SMTP without --tls none")


@mw.scenario
def lmtp_socket_two_recipients(ctx):
    """-H /PATH: LMTP over Dovecot's Unix socket, both recipients delivered: exit 0; plain output
    has a line per recipient with its own reply."""
    env = lmtp(ctx)
    boxes = [ctx.mailbox([], "lmtpa"), ctx.mailbox([], "lmtpb")]
    addrs = [f"{b.user}@lab.test" for b in boxes]
    needle = f"mwt-lmtps-{os.getpid()}-{os.urandom(4).hex()}"
    res = lmtp_send(ctx, ["-H", env["lmtp_socket"], "--timeout", "20"], addrs, needle)
    eq(res.rc, 0, "LMTP over the socket: exit code", res)
    for a in addrs:
        check(re.search(rf"^accepted {re.escape(a)} 250 2\.0\.0 .*Saved", res.stdout, re.M),
              f"LMTP over the socket: a line for {a} with Dovecot's reply", res)
    for b in boxes:
        lmtp_message(b, needle, f"LMTP over the socket ({b.user})", res)
    # BDAT (Dovecot's LMTP offers CHUNKING): the replies per recipient come after BDAT LAST.
    needle = needle + "-bdat"
    res = lmtp_send(ctx, ["-H", env["lmtp_socket"], "--timeout", "20", "-v"], addrs, needle, None, ["--chunking"])
    eq(res.rc, 0, "LMTP over the socket, BDAT: exit code", res)
    check(re.search(r"^> BDAT \d+ LAST$", res.stderr, re.M), "LMTP over the socket: BDAT was used", res)
    eq(len(re.findall(r"^< 250 2\.0\.0 <[^>]+> \S+ Saved", res.stderr, re.M)), 2,
       "LMTP over the socket, BDAT: a reply for each recipient after BDAT LAST", res)
    for b in boxes:
        lmtp_message(b, needle, f"LMTP over the socket, BDAT ({b.user})", res)
    # No server on a path: 69, naming it.
    res = lmtp_send(ctx, ["-H", str(ctx.scratch / "no-such-socket"), "--timeout", "5"], addrs, needle)
    mw.expect_error(res, 69, r"no-such-socket", "LMTP to a socket nobody listens on")


@mw.scenario
def lmtp_starttls(ctx):
    """LMTP with STARTTLS (Dovecot offers it): LHLO again after TLS, then the delivery; -v
    shows LHLO twice and never EHLO."""
    env = lmtp(ctx)
    box = ctx.mailbox([], "lmtptls")
    needle = f"mwt-lmtpt-{os.getpid()}-{os.urandom(4).hex()}"
    res = lmtp_send(ctx, ["-H", env["ip"], "-p", str(env["lmtp_port"]), "--tls", "starttls", "--cacert", env["ca"],
                          "--timeout", "20", "-v"], [f"{box.user}@lab.test"], needle)
    eq(res.rc, 0, "LMTP with STARTTLS: exit code", res)
    eq(len(re.findall(r"^> LHLO ", res.stderr, re.M)), 2, "LMTP with STARTTLS: LHLO before and after TLS", res)
    check(not re.search(r"^> (EHLO|HELO) ", res.stderr, re.M), "LMTP with STARTTLS: no EHLO or HELO", res)
    check(re.search(r"^> STARTTLS$", res.stderr, re.M), "LMTP with STARTTLS: STARTTLS sent", res)
    lmtp_message(box, needle, "LMTP with STARTTLS", res)


@mw.scenario
def lmtp_quit_after_rcpt(ctx):
    """A probe in LMTP: LHLO, MAIL, RCPT per recipient, QUIT; nothing delivered."""
    env = lmtp(ctx)
    box = ctx.mailbox([], "lmtpq")
    known = f"{box.user}@lab.test"
    unknown = f"nobody-{os.getpid()}@lab.test"
    res = ctx.run(["-H", env["lmtp_socket"], "--json", "send", "--lmtp", "--quit-after", "rcpt",
                   "--from", "sender@example.org", "--to", known, "--to", unknown])
    eq(res.rc, EX_PARTIAL, "LMTP probe: exit code", res)
    doc = probe_doc(res, "LMTP probe", "rcpt")
    eq(doc["protocol"], "lmtp", "LMTP probe: protocol", res)
    check_outcomes(doc, {known: (True, 250, "2.1.5"), unknown: (False, 550, "5.1.1")}, "LMTP probe", res)
    time.sleep(1)
    eq(maildir_files(box.maildir), set(), "LMTP probe: nothing delivered", res)


if __name__ == "__main__":
    mw.main()
