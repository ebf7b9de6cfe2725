#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 13.1 and 13.4: values mailwrench reads from the config file and the environment.

A bad value there is a configuration error (exit 78) whose one error line names the config
file, the line and the key (or the environment variable) and shows the value, without the
"see 'mailwrench --help'" hint: a cron user never typed an option. The same value typed on the
command line stays a usage error (64) with the hint. Nothing connects before the error.

A '#' or ';' starts a comment only at the start of a line: inside a value it is part of it
(password-command = pass show a#b reaches the command whole).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))

import mwtest as mw  # noqa: E402
from mwtest import check, eq, scenario  # noqa: E402
from scripted_server import ScriptedServer  # noqa: E402

USAGE, CONFIG = 64, 78
SEND = ["send", "--from", "a@example.org", "--to", "b@example.org", "--subject", "s", "--body", "b"]

# name, the bad line of the [account a] section, the key the error names, the value it shows
# (None: not shown), the command
FILE_ROWS: list[tuple[str, str, str, str | None, list[str]]] = [
    ("port_too_big", "port = 99999", "port", "99999", ["stat"]),
    ("port_not_a_number", "port = abc", "port", "abc", ["stat"]),
    ("tls_value", "tls = foo", "tls", "foo", ["stat"]),
    ("timeout_not_a_number", "timeout = abc", "timeout", "abc", ["stat"]),
    ("timeout_zero", "timeout = 0", "timeout", "0", ["stat"]),
    ("auth_value", "auth = bogus", "auth", "bogus", ["stat"]),
    ("fingerprint_not_hex", "fingerprint = zz", "fingerprint", "zz", ["stat"]),
    ("insecure_not_a_boolean", "insecure = maybe", "insecure", "maybe", ["stat"]),
    ("no_pipelining_not_a_boolean", "no-pipelining = sometimes", "no-pipelining", "sometimes", ["stat"]),
    ("max_size_not_a_key", "max-size = 10M", "max-size", None, ["fetch", "-o", "-", "1"]),
    ("wait_lock_not_a_key", "wait-lock = 300", "wait-lock", None, ["fetch", "-o", "-", "1"]),
    ("semicolon_is_no_inline_comment", "port = 110 ; plain POP3", "port", "110 ; plain POP3", ["stat"]),
    ("smtp_port", "smtp-port = 99999", "smtp-port", "99999", SEND),
    ("smtp_tls", "smtp-tls = sometimes", "smtp-tls", "sometimes", SEND),
]

# name, variable, value, the command
ENV_ROWS: list[tuple[str, str, str, list[str]]] = [
    ("port_not_a_number", "MAILWRENCH_PORT", "abc", ["stat"]),
    ("port_too_big", "MAILWRENCH_PORT", "99999", ["stat"]),
    ("tls_value", "MAILWRENCH_TLS", "foo", ["stat"]),
    ("timeout_not_a_number", "MAILWRENCH_TIMEOUT", "abc", ["stat"]),
    ("auth_value", "MAILWRENCH_AUTH", "bogus", ["stat"]),
    ("fingerprint_not_hex", "MAILWRENCH_FINGERPRINT", "zz", ["stat"]),
]


def one_error_line(res, what: str) -> str:
    lines = res.stderr_lines
    check(len(lines) == 1 and mw.ERROR_LINE.match(lines[0]),
          f"{what}: stderr must be exactly one 'mailwrench: error: ...' line (got {len(lines)})", res)
    eq(res.stdout, "", f"{what}: stdout", res)
    return lines[0]


def config_value(ctx, bad_line: str, key: str, value: str | None, command: list[str]):
    with ScriptedServer([], greeting="+OK if you can read this, a connection was made") as srv:
        text = ("timeout = 5\n"
                "[account a]\n"
                "host = 127.0.0.1\n"
                f"port = {srv.port}\n"
                "tls = none\n"
                "allow-plaintext = true\n"
                "user = baduser\n"
                f"{bad_line}\n")
        cfg = ctx.file("config", text)
        line = text.count("\n")
        res = ctx.run(["--config", str(cfg), "-a", "a"] + command, password="config-value-password",
                      timeout=20)
        connections = srv.connections
    what = f"{bad_line!r} in the config file"
    eq(res.rc, CONFIG, f"{what}: exit code", res)
    err = one_error_line(res, what)
    check(str(cfg) in err, f"{what}: the error does not name the file {cfg}", res)
    check(re.search(rf"\bline {line}\b", err), f"{what}: the error does not name line {line}", res)
    check(re.search(rf"(?<![\w-]){re.escape(key)}\b", err), f"{what}: the error does not name the key {key}", res)
    check(f"--{key}" not in err, f"{what}: the error blames the option --{key}", res)
    check("--help" not in err, f"{what}: the error points to --help for a value the user never typed", res)
    if value is not None:
        check(f"'{value}'" in err, f"{what}: the error does not show the value {value!r}", res)
    eq(connections, 0, f"{what}: connections made before the error", res)


def environment_value(ctx, variable: str, value: str, command: list[str]):
    with ScriptedServer([], greeting="+OK if you can read this, a connection was made") as srv:
        res = ctx.run(["-H", "127.0.0.1", "-u", "baduser"] + (["-p", str(srv.port)] if variable != "MAILWRENCH_PORT"
                                                               else []) + command,
                      password="config-value-password", env={variable: value}, timeout=20)
        connections = srv.connections
    what = f"{variable}={value}"
    eq(res.rc, CONFIG, f"{what}: exit code", res)
    err = one_error_line(res, what)
    check(variable in err, f"{what}: the error does not name the variable", res)
    check(f"'{value}'" in err, f"{what}: the error does not show the value", res)
    check("--help" not in err, f"{what}: the error points to --help for a value the user never typed", res)
    eq(connections, 0, f"{what}: connections made before the error", res)


for _name, _line, _key, _value, _command in FILE_ROWS:
    mw.add("file_" + _name, config_value, _line, _key, _value, _command)
for _name, _variable, _value, _command in ENV_ROWS:
    mw.add("env_" + _name, environment_value, _variable, _value, _command)


@scenario
def command_line_value_stays_usage(ctx):
    """The same bad port typed on the command line: 64 and the --help hint, as before."""
    res = ctx.run(["-H", "127.0.0.1", "-p", "99999", "stat"], password="x", timeout=20)
    eq(res.rc, USAGE, "-p 99999: exit code", res)
    err = one_error_line(res, "-p 99999")
    check("99999" in err and "see 'mailwrench --help'" in err, "-p 99999: the error and its hint", res)


@scenario
def hash_inside_a_value_reaches_the_command(ctx):
    """password-command = CMD a#b: the command gets 'a#b' whole (it prints the password only
    then); whole-line comments (# and ;, also indented) and a '#' after white space are
    comments."""
    seen = ctx.scratch / "seen-argument"
    cmd = ctx.file("pwcmd", "#!/bin/sh\nprintf '%s\\n' \"$1\" > " + str(seen) + "\n"
                   "[ \"$1\" = 'a#b' ] && printf '%s\\n' '" + ctx.password("alice") + "'\n", mode=0o700)
    e = ctx.env
    text = ("# comment before any section\n"
            "; a semicolon comment\n"
            "[account test]\n"
            f"host = {e['host']}\n"
            f"port = {e['pop3s_port']}\n"
            "tls = implicit   # a comment after white space\n"
            "   # an indented comment\n"
            "timeout = 20\t# seconds\n"
            "user = alice\n"
            f"cacert = {e['ca']}\n"
            f"password-command = {cmd} a#b\n")
    cfg = ctx.file("config", text)
    res = ctx.run(["--config", str(cfg), "-a", "test", "--json", "stat"])
    check(seen.exists(), "the password command did not run", res)
    eq(seen.read_text().strip(), "a#b", "the argument the password command got", res)
    ctx.expect_stat_json(res, what="password-command = CMD a#b")


if __name__ == "__main__":
    sys.exit(mw.main())
