#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bad input, table-driven: every option with a malformed value, every unreadable input file,
every missing or unknown word gets a clear one-line error and an exit code a script can act on,
before any connection is made.

Exit codes (sysexits.h, DESIGN.md "Exit codes"):
    64  EX_USAGE     the command line is wrong: a malformed value, an unknown option or command,
                     a missing argument, a contradiction
    66  EX_NOINPUT   an input file named on the command line cannot be read (missing, a directory)
    78  EX_CONFIG    the configuration is wrong: a config file that does not parse, an unknown
                     account, a --config that cannot be read (66 is accepted there as well)

Each row: the arguments (after -H/-p/-u/--tls/--timeout, pointing at a scripted server that
counts connections; a row that sets one of those itself replaces it), the exit codes allowed,
a pattern the error must match to name the option (or argument), and the bad value, which must
appear literally (case-insensitive). Checked for every row: the exit code; stderr is exactly one
"mailwrench: error: ..." line; it names the option and the value; stdout is empty; the server
saw no connection. A row that fails is a mailwrench bug to fix, not a row to relax.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq  # noqa: E402
from scripted_server import ScriptedServer  # noqa: E402

USAGE, NOINPUT, CONFIG = 64, 66, 78
SEND = ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "s", "--body", "b"]
MISSING = "/nonexistent-mw/dir"  # a path that cannot exist
MSG_ARG = r"message|MSG|range|number"
# Where one option takes the kind of value, its name is enough ("invalid port"); sizes and ages
# are taken by several options (--larger-than, --smaller-than, --max-size; --older-than,
# --newer-than), so their errors must say which.
PORT = r"--port|-p\b|\bport\b"
TIMEOUT = r"--timeout|\btimeout\b"

# name, arguments, exit codes, what names the option (regex), the bad value (literal, or None)
ROWS: list[tuple[str, list[str], tuple[int, ...], str, str | None]] = [
    # ---- sizes
    ("larger_than_unknown_unit", ["list", "--larger-than", "10X"], (USAGE,), r"--larger-than", "10X"),
    ("larger_than_negative", ["list", "--larger-than", "-5K"], (USAGE,), r"--larger-than", "-5K"),
    ("smaller_than_empty", ["list", "--smaller-than", ""], (USAGE,), r"--smaller-than", None),
    ("smaller_than_overflow", ["list", "--smaller-than", "99999999999999999999G"], (USAGE,), r"--smaller-than",
     "99999999999999999999G"),
    ("max_size_unknown_unit", ["fetch", "-o", "maildir:MD", "--max-size", "5Q"], (USAGE,), r"--max-size", "5Q"),
    # ---- ages
    ("older_than_unknown_unit", ["list", "--older-than", "3x"], (USAGE,), r"--older-than", "3x"),
    ("newer_than_negative", ["list", "--newer-than", "-3d"], (USAGE,), r"--newer-than", "-3d"),
    ("older_than_overflow", ["list", "--older-than", "99999999999999999999w"], (USAGE,), r"--older-than",
     "99999999999999999999w"),
    # ---- regular expressions
    ("from_regex", ["list", "--from", "("], (USAGE,), r"--from", "("),
    ("subject_regex", ["list", "--subject", "[a-"], (USAGE,), r"--subject", "[a-"),
    ("header_filter_regex", ["list", "--header", "X-Spam: (yes"], (USAGE,), r"--header", "(yes"),
    # ---- ports
    ("port_zero", ["-p", "0", "stat"], (USAGE,), PORT, "0"),
    ("port_too_big", ["-p", "70000", "stat"], (USAGE,), PORT, "70000"),
    ("port_not_a_number", ["-p", "abc", "stat"], (USAGE,), PORT, "abc"),
    ("port_negative", ["-p", "-1", "stat"], (USAGE,), PORT, "-1"),
    # ---- message numbers and ranges
    ("top_zero", ["top", "0"], (USAGE,), MSG_ARG, "0"),
    ("top_not_a_number", ["top", "x"], (USAGE,), MSG_ARG, "x"),
    ("top_lines_not_a_number", ["top", "1", "--lines", "many"], (USAGE,), r"--lines", "many"),
    ("purge_reversed_range", ["purge", "5-3", "--yes"], (USAGE,), MSG_ARG, "5-3"),
    ("list_bad_number_in_list", ["list", "1,x,3"], (USAGE,), MSG_ARG, "x"),
    ("fetch_limit_not_a_number", ["fetch", "-o", "maildir:MD", "--limit", "lots"], (USAGE,), r"--limit", "lots"),
    # ---- --output targets
    ("output_unknown_kind", ["fetch", "-o", "foo:bar"], (USAGE,), r"--output|-o\b", "foo:bar"),
    ("output_maildir_empty", ["fetch", "-o", "maildir:"], (USAGE,), r"--output|-o\b", "maildir:"),
    ("output_mbox_empty", ["fetch", "-o", "mbox:"], (USAGE,), r"--output|-o\b", "mbox:"),
    ("fetch_without_output", ["fetch"], (USAGE,), r"--output", None),
    # ---- header syntax
    ("list_header_without_colon", ["list", "--header", "NoColon"], (USAGE,), r"--header|header filter", "NoColon"),
    ("send_header_without_colon", SEND + ["--header", "NoColon"], (USAGE,), r"--header", "NoColon"),
    ("send_header_empty_name", SEND + ["--header", ": value"], (USAGE,), r"--header", ": value"),
    # ---- enumerations and other values
    ("tls_value", ["--tls", "sometimes", "stat"], (USAGE,), r"--tls", "sometimes"),
    ("auth_value", ["--auth", "telepathy", "stat"], (USAGE,), r"--auth", "telepathy"),
    ("timeout_zero", ["--timeout", "0", "stat"], (USAGE,), TIMEOUT, "0"),
    ("timeout_negative", ["--timeout", "-5", "stat"], (USAGE,), TIMEOUT, "-5"),
    ("timeout_not_a_number", ["--timeout", "soon", "stat"], (USAGE,), TIMEOUT, "soon"),
    ("fingerprint_not_hex", ["--fingerprint", "zz", "stat"], (USAGE,), r"--fingerprint", "zz"),
    ("dsn_return_value", SEND + ["--dsn-return", "bogus"], (USAGE,), r"--dsn-return", "bogus"),
    ("dsn_notify_value", SEND + ["--dsn-notify", "SOMETIMES"], (USAGE,), r"--dsn-notify", "SOMETIMES"),
    # ---- unreadable input files (66)
    ("password_file_missing", ["--password-file", MISSING + "/pw", "stat"], (NOINPUT,),
     r"--password-file|password file", MISSING + "/pw"),
    ("password_file_directory", ["--password-file", "DIR", "stat"], (NOINPUT,),
     r"--password-file|password file", "DIR"),
    ("cacert_missing", ["--tls", "implicit", "--cacert", MISSING + "/ca.pem", "stat"], (NOINPUT,),
     r"--cacert|CA certificate", MISSING + "/ca.pem"),
    ("uid_file_missing", ["purge", "--uid-file", MISSING + "/uids", "--yes"], (NOINPUT,),
     r"--uid-file|UID file", MISSING + "/uids"),
    ("attach_missing", SEND + ["--attach", MISSING + "/report.pdf"], (NOINPUT,), r"--attach|attachment",
     MISSING + "/report.pdf"),
    ("attach_directory", SEND + ["--attach", "DIR"], (NOINPUT,), r"--attach|attachment", "DIR"),
    ("body_file_missing", ["send", "--from", "a@example.org", "--to", "b@example.org", "--body-file",
                           MISSING + "/body.txt"], (NOINPUT,), r"--body-file|body file", MISSING + "/body.txt"),
    # ---- configuration (78; a --config that cannot be read: 66 or 78)
    ("config_missing", ["--config", MISSING + "/config", "stat"], (NOINPUT, CONFIG),
     r"--config|config(uration)? file", MISSING + "/config"),
    ("config_syntax", ["--config", "CONFIG:[account broken\nhost = x\n", "stat"], (CONFIG,),
     r"config", "CONFIG"),
    ("config_unknown_key", ["--config", "CONFIG:[account a]\nhots = pop.example.org\n", "-a", "a", "stat"],
     (CONFIG,), r"config", "hots"),
    ("account_unknown", ["--config", "CONFIG:[account a]\nhost = 127.0.0.1\n", "-a", "nosuch", "stat"],
     (CONFIG, USAGE), r"account|-a\b", "nosuch"),
    # ---- unknown or missing words (64)
    ("unknown_option", ["--no-such-option", "stat"], (USAGE,), r"option", "--no-such-option"),
    ("unknown_command_option", ["list", "--no-such-filter", "x"], (USAGE,), r"option", "--no-such-filter"),
    ("unknown_command", ["frobnicate"], (USAGE,), r"command", "frobnicate"),
    ("missing_command", [], (USAGE,), r"command", None),
    ("missing_option_argument", ["list", "--larger-than"], (USAGE,), r"--larger-than", None),
    ("missing_message_number", ["top"], (USAGE,), r"--all|selection|select", None),
    ("purge_without_selection", ["purge", "--yes"], (USAGE,), r"--all|selection|select", None),
    ("send_without_recipient", ["send", "--from", "a@example.org", "--subject", "s", "--body", "b"], (USAGE,),
     r"--to|recipient", None),
]

REPLACEABLE = {"-H": "-H", "--host": "-H", "-p": "-p", "--port": "-p", "-u": "-u", "--user": "-u",
               "--tls": "--tls", "--timeout": "--timeout"}


def expand(ctx, args: list[str], value: str | None) -> tuple[list[str], str | None]:
    """Placeholders: MD (a Maildir path), DIR (an existing directory), CONFIG:<text> (a config file
    with that text; as the bad value: the file's path)."""
    out = []
    for a in args:
        if a == "DIR":
            d = ctx.scratch / "a-directory"
            d.mkdir(exist_ok=True)
            a = str(d)
        elif a.startswith("maildir:MD"):
            a = f"maildir:{ctx.scratch / 'md'}"
        elif a.startswith("CONFIG:"):
            a = str(ctx.file("config", a[len("CONFIG:"):]))
            if value == "CONFIG":
                value = a
        out.append(a)
    if value == "DIR":
        value = str(ctx.scratch / "a-directory")
    return out, value


def bad_input(ctx, args: list[str], codes: tuple[int, ...], option: str, value: str | None):
    with ScriptedServer([], greeting="+OK if you can read this, a connection was made") as srv:
        args, value = expand(ctx, args, value)
        given = {REPLACEABLE[a] for a in args if a in REPLACEABLE}
        base = {"-H": "127.0.0.1", "-p": str(srv.port), "-u": "baduser", "--timeout": "5"}
        conn = [x for k, v in base.items() if k not in given for x in (k, v)]
        if "--tls" not in given:
            conn += ["--tls", "none", "--allow-plaintext"]
        res = ctx.run(conn + args, password="bad-input-password", timeout=20)
        connections = srv.connections
    what = " ".join(args) or "(no command)"
    check(res.rc in codes, f"{what}: exit code {res.rc}, expected {' or '.join(map(str, codes))}", res)
    lines = res.stderr_lines
    check(len(lines) == 1 and mw.ERROR_LINE.match(lines[0]),
          f"{what}: stderr must be exactly one 'mailwrench: error: ...' line (got {len(lines)})", res)
    check(re.search(option, lines[0], re.I), f"{what}: the error does not name the option (/{option}/)", res)
    if value is not None:
        check(value.lower() in lines[0].lower(), f"{what}: the error does not show the bad value {value!r}", res)
    eq(res.stdout, "", f"{what}: stdout", res)
    eq(connections, 0, f"{what}: connections made to the server before the error", res)


for _name, _args, _codes, _option, _value in ROWS:
    mw.add(_name, bad_input, _args, _codes, _option, _value)


if __name__ == "__main__":
    sys.exit(mw.main())
