#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The config file: [account NAME] sections picked with -a, the default location under
$XDG_CONFIG_HOME, and precedence command line > environment > config file."""
import sys

import mwtest as mw
from mwtest import expect_error, scenario


def account(ctx, name="test", **keys):
    e = ctx.env
    base = {"host": e["host"], "port": e["pop3s_port"], "tls": "implicit", "user": "alice",
            "cacert": e["ca"], "timeout": 20}
    base.update(keys)
    return f"[account {name}]\n" + "".join(f"{k} = {v}\n" for k, v in base.items() if v is not None)


def pwfile(ctx, name, password):
    return ctx.file(name, password + "\n")


@scenario
def config_account(ctx):
    cfg = ctx.file("config", account(ctx, **{"password-file": pwfile(ctx, "pw", ctx.password("alice"))}))
    ctx.expect_stat_json(ctx.run(["--config", str(cfg), "-a", "test", "--json", "stat"]),
                         what="--config FILE -a test")


@scenario
def config_account_long_option(ctx):
    cfg = ctx.file("config", account(ctx, **{"password-file": pwfile(ctx, "pw", ctx.password("alice"))}))
    ctx.expect_stat(ctx.run(["stat", "--config", str(cfg), "--account", "test"]),
                    what="stat --config FILE --account test")


@scenario
def config_picks_the_named_section(ctx):
    text = (account(ctx, "other", user="bob", port=mw.closed_port())
            + account(ctx, "test", **{"password-file": pwfile(ctx, "pw", ctx.password("alice"))})
            + account(ctx, "third", user="carol", host="no-such-host.invalid"))
    cfg = ctx.file("config", text)
    ctx.expect_stat_json(ctx.run(["--config", str(cfg), "-a", "test", "--json", "stat"]),
                         what="-a test among three sections")
    ctx.expect_stat_json(ctx.run(["--config", str(cfg), "-a", "other", "-p", str(ctx.env["pop3s_port"]),
                                  "--json", "stat"], user="bob"), user="bob", what="-a other (bob)")


@scenario
def config_starttls_account(ctx):
    cfg = ctx.file("config", account(ctx, tls="starttls", port=ctx.env["pop3_port"], user="carol",
                                     **{"password-file": ctx.file("pw", ctx.password("carol"))}))
    ctx.expect_stat_json(ctx.run(["--config", str(cfg), "-a", "test", "--json", "stat"]),
                         user="carol", what="STARTTLS account for carol")


@scenario
def config_default_location(ctx):
    """No --config: $XDG_CONFIG_HOME/mailwrench/config."""
    home = ctx.fresh_home()
    (home / ".config" / "mailwrench").mkdir(parents=True)
    cfg = home / ".config" / "mailwrench" / "config"
    cfg.write_text(account(ctx, **{"password-file": pwfile(ctx, "pw", ctx.password("alice"))}))
    ctx.expect_stat_json(ctx.run(["-a", "test", "--json", "stat"], home=home),
                         what="-a test with the config file in $XDG_CONFIG_HOME/mailwrench/config")


@scenario
def config_command_line_wins(ctx):
    """A wrong port and user in the file, overridden by -p and -u."""
    cfg = ctx.file("config", account(ctx, port=mw.closed_port(), user="bob"))
    ctx.expect_stat_json(ctx.run(["--config", str(cfg), "-a", "test", "-p", str(ctx.env["pop3s_port"]),
                                  "-u", "alice", "--json", "stat"], user="alice"),
                         what="-p and -u override port and user of the file")


@scenario
def config_command_line_wins_tls(ctx):
    cfg = ctx.file("config", account(ctx, tls="starttls", port=ctx.env["pop3_port"]))
    ctx.expect_stat_json(ctx.run(["--config", str(cfg), "-a", "test", "--tls", "implicit",
                                  "-p", str(ctx.env["pop3s_port"]), "--json", "stat"], user="alice"),
                         what="--tls implicit -p POP3S overrides tls = starttls")


@scenario
def config_environment_beats_file(ctx):
    """MAILWRENCH_PASSWORD (environment) wins over the file's password-file (wrong password)."""
    cfg = ctx.file("config", account(ctx, **{"password-file": pwfile(ctx, "pw", "not-the-password")}))
    ctx.expect_stat_json(ctx.run(["--config", str(cfg), "-a", "test", "--json", "stat"], user="alice"),
                         what="MAILWRENCH_PASSWORD over password-file of the config file")


@scenario
def config_command_line_beats_environment(ctx):
    """--password-file (command line) wins over MAILWRENCH_PASSWORD (wrong password)."""
    cfg = ctx.file("config", account(ctx))
    pw = pwfile(ctx, "pw", ctx.password("alice"))
    ctx.expect_stat_json(ctx.run(["--config", str(cfg), "-a", "test", "--password-file", str(pw),
                                  "--json", "stat"], password="not-the-password"),
                         what="--password-file over MAILWRENCH_PASSWORD")


@scenario
def config_password_command_in_file(ctx):
    pw = pwfile(ctx, "pw", ctx.password("carol"))
    cfg = ctx.file("config", account(ctx, user="carol", **{"password-command": f"cat {pw}"}))
    ctx.expect_stat_json(ctx.run(["--config", str(cfg), "-a", "test", "--json", "stat"]), user="carol",
                         what="password-command = cat FILE in the config file")


@scenario
def config_unknown_account(ctx):
    cfg = ctx.file("config", account(ctx))
    expect_error(ctx.run(["--config", str(cfg), "-a", "nosuchaccount", "stat"], user="alice"), 78,
                 r"nosuchaccount", "-a with an account the file does not have")


@scenario
def config_missing_file(ctx):
    expect_error(ctx.run(["--config", str(ctx.scratch / "does-not-exist"), "-a", "test", "stat"], user="alice"),
                 (66, 78), r"does-not-exist", "--config naming a missing file")


if __name__ == "__main__":
    sys.exit(mw.main())
