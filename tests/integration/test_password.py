#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Password sources: --password-file, --password-command, MAILWRENCH_PASSWORD, ~/.netrc —
each with alice's plain password and with carol's hostile one (c'a r$o"l\\!#)."""
import shlex
import sys

import mwtest as mw
from mwtest import expect_error, scenario


def stat_ok(ctx, user, args, what, **run):
    ctx.expect_stat_json(ctx.run(ctx.conn(user=user) + args + ["--json", "stat"], **run), user=user, what=what)


def password_file(ctx, user, newline):
    f = ctx.file(f"{user}.pw", ctx.password(user) + ("\n" if newline else ""))
    stat_ok(ctx, user, ["--password-file", str(f)],
            f"--password-file for {user} ({'with' if newline else 'without'} a trailing newline)")


def password_command_printf(ctx, user):
    cmd = "printf %s " + shlex.quote(ctx.password(user))
    stat_ok(ctx, user, ["--password-command", cmd], f"--password-command 'printf %s …' for {user}")


def password_command_cat(ctx, user):
    f = ctx.file(f"dir with space/{user}'s pw", ctx.password(user) + "\n")
    stat_ok(ctx, user, ["--password-command", "cat " + shlex.quote(str(f))],
            f"--password-command 'cat FILE' for {user} (a file name with a space and a quote)")


def password_command_echo(ctx, user):
    # echo adds a newline: the command's trailing newline is not part of the password
    stat_ok(ctx, user, ["--password-command", "echo " + shlex.quote(ctx.password(user))],
            f"--password-command 'echo …' for {user}")


def environment(ctx, user):
    stat_ok(ctx, user, [], f"MAILWRENCH_PASSWORD for {user}", password=ctx.password(user))


def netrc_quote(s):
    """A netrc token: quoted, with \\ and \" escaped (the syntax curl and Python's netrc read)."""
    if all(c not in s for c in " \t\n\"'\\#"):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def netrc(ctx, user, with_user_option):
    home = ctx.fresh_home()
    (home / ".netrc").write_text(
        "machine other.example login nobody password nothing\n"
        f"machine {ctx.env['host']} login {user} password {netrc_quote(ctx.password(user))}\n"
        "default login anonymous password anonymous@\n")
    (home / ".netrc").chmod(0o600)
    args = ctx.conn(user=user if with_user_option else None)
    ctx.expect_stat_json(ctx.run(args + ["--json", "stat"], home=home), user=user,
                         what=f"~/.netrc for {user} ({'with' if with_user_option else 'without'} -u)")


for _user in ("alice", "carol"):
    mw.add(f"password_file_{_user}", password_file, _user, True)
    mw.add(f"password_file_no_newline_{_user}", password_file, _user, False)
    mw.add(f"password_command_printf_{_user}", password_command_printf, _user)
    mw.add(f"password_command_cat_{_user}", password_command_cat, _user)
    mw.add(f"password_command_echo_{_user}", password_command_echo, _user)
    mw.add(f"password_environment_{_user}", environment, _user)
    mw.add(f"password_netrc_{_user}", netrc, _user, False)
    mw.add(f"password_netrc_with_user_{_user}", netrc, _user, True)


@scenario
def password_command_fails(ctx):
    expect_error(ctx.run(ctx.conn() + ["--password-command", "exit 3", "stat"]), (77, 78),
                 r"password", "--password-command that exits 3")


@scenario
def password_file_missing(ctx):
    missing = ctx.scratch / "no-such-password-file"
    expect_error(ctx.run(ctx.conn() + ["--password-file", str(missing), "stat"]), (66, 78),
                 r"no-such-password-file", "--password-file naming a missing file")


@scenario
def password_none_available(ctx):
    """No source and no TTY to prompt on: an error, not a hang and not an empty password."""
    res = ctx.run(ctx.conn() + ["stat"], timeout=30)
    expect_error(res, (77, 78), r"password", "no password source and stdin is not a TTY")


if __name__ == "__main__":
    sys.exit(mw.main())
