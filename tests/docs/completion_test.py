#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Completes mailwrench command lines in a real shell and checks the candidates.

    completion_test.py --shell bash|zsh|fish --mailwrench BIN --source DIR

bash: sources completions/mailwrench.bash (alone, and after the bash-completion package
when it is installed), sets COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT as readline would
(words broken at '=', and in a second run at ':' as well, as the default COMP_WORDBREAKS
does) and calls the function that `complete -p mailwrench` names; the candidates are
COMPREPLY. fish: `complete -C LINE` after sourcing completions/mailwrench.fish. zsh: an
interactive `zsh -f` on a pseudo-terminal with completions/ in $fpath (zsh_complete.zsh).
Exits 77 (skipped) when the shell is not installed.
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
BASH_COMPLETION = pathlib.Path("/usr/share/bash-completion/bash_completion")


class Skip(Exception):
    pass


def help_options(binary, *args):
    res = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        sys.exit(f"FAIL: {binary} {' '.join(args)} exited with {res.returncode}: {res.stderr}")
    return res.stdout


def defined_options(text):
    """The long options that a help text defines (its "  -a [ --account ] NAME" lines)."""
    return {"--" + n for n in re.findall(r"^\s+(?:-\w \[ )?--([a-z0-9-]+)", text, re.M)}


# ---- shells -----------------------------------------------------------------------------

def bash_words(line, breaks="="):
    """COMP_WORDS as readline makes them: split at blanks, and each character of `breaks`
    (those of COMP_WORDBREAKS that matter here) is a word of its own. The test lines have
    no quotes and single blanks."""
    pattern = "([" + re.escape(breaks) + "])"
    words = []
    for word in line.split(" "):
        if word:
            words.extend(p for p in re.split(pattern, word) if p)
        else:
            words.append("")
    return words


BASH_DRIVER = r"""
if [ -n "$MW_BASH_COMPLETION" ]; then
  . "$MW_BASH_COMPLETION" || { echo "cannot source $MW_BASH_COMPLETION" >&2; exit 3; }
fi
. "$MW_COMPLETION" || { echo "cannot source $MW_COMPLETION" >&2; exit 3; }
spec=$(complete -p mailwrench 2>/dev/null) || { echo "no 'complete ... mailwrench'" >&2; exit 4; }
fn=$(sed -n 's/.*-F \([^ ]*\) .*/\1/p' <<<"$spec")
[ -n "$fn" ] || { echo "no -F function in: $spec" >&2; exit 4; }
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE=$MW_LINE
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
COMP_KEY=9
COMPREPLY=()
cur=${COMP_WORDS[COMP_CWORD]}
prev=""
(( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}
"$fn" mailwrench "$cur" "$prev"
(( ${#COMPREPLY[@]} )) && printf '%s\n' "${COMPREPLY[@]}"
exit 0
"""


class Shell:
    def complete_all(self, queries):
        results = []
        for line, env in queries:
            try:
                results.append(self.complete(line, env))
            except (AssertionError, subprocess.TimeoutExpired) as e:
                results.append(AssertionError(str(e)))
        return results


class Bash(Shell):
    def __init__(self, source, with_bash_completion, breaks="="):
        self.exe = shutil.which("bash")
        if not self.exe:
            raise Skip("bash is not installed (Debian: bash)")
        self.completion = source / "completions/mailwrench.bash"
        self.with_bc = with_bash_completion
        self.breaks = breaks
        self.name = ("bash+bash-completion" if with_bash_completion else "bash") + \
            f" (word breaks {breaks!r})"

    def complete(self, line, env):
        env = dict(env, MW_COMPLETION=str(self.completion), MW_LINE=line,
                   MW_BASH_COMPLETION=str(BASH_COMPLETION) if self.with_bc else "")
        res = subprocess.run([self.exe, "--norc", "--noprofile", "-c", BASH_DRIVER, "bash",
                              *bash_words(line, self.breaks)],
                             capture_output=True, text=True, env=env, timeout=30)
        if res.returncode != 0:
            raise AssertionError(f"bash driver exited with {res.returncode}: {res.stderr}")
        return res.stdout.splitlines()


class Fish(Shell):
    name = "fish"

    def __init__(self, source):
        self.exe = shutil.which("fish")
        if not self.exe:
            raise Skip("fish is not installed (Debian: fish)")
        self.completion = source / "completions/mailwrench.fish"

    def complete(self, line, env):
        res = subprocess.run([self.exe, "--no-config", "-c",
                              "source $argv[1]; or exit 3; complete -C $argv[2]",
                              str(self.completion), line],
                             capture_output=True, text=True, env=env, timeout=30)
        if res.returncode != 0:
            raise AssertionError(f"fish exited with {res.returncode}: {res.stderr}")
        if res.stderr.strip():
            raise AssertionError(f"fish printed errors: {res.stderr}")
        return [l.split("\t", 1)[0] for l in res.stdout.splitlines()]


class Zsh(Shell):
    name = "zsh"

    def __init__(self, source, work):
        self.exe = shutil.which("zsh")
        if not self.exe:
            raise Skip("zsh is not installed (Debian: zsh)")
        self.compdir = source / "completions"
        self.work = work
        probe = subprocess.run([self.exe, "-f", "-c", "zmodload zsh/zpty"], capture_output=True)
        if probe.returncode != 0:
            raise Skip("zsh has no zsh/zpty module")

    def complete_all(self, queries):
        """One zsh session per distinct environment, for speed (compinit is slow)."""
        results = [None] * len(queries)
        groups = {}
        for index, (line, env) in enumerate(queries):
            groups.setdefault(tuple(sorted(env.items())), []).append(index)
        for key, indexes in groups.items():
            out = self.work / "zsh-matches"
            res = subprocess.run([self.exe, "-f", str(HERE / "zsh_complete.zsh"),
                                  str(self.compdir), str(out),
                                  *[queries[i][0] for i in indexes]],
                                 capture_output=True, text=True, env=dict(key), timeout=120)
            if res.returncode == 77:
                raise Skip(res.stdout.strip())
            answers = res.stdout.split("--MAILWRENCH-COMPLETION-DONE--\n")
            for n, i in enumerate(indexes):
                if n < len(answers) - 1:
                    results[i] = answers[n].splitlines()
                else:
                    results[i] = AssertionError(
                        f"zsh_complete.zsh exited with {res.returncode} without an answer: "
                        f"{res.stderr.strip()}")
        return results


# ---- cases ------------------------------------------------------------------------------

def normalize(line, candidates, files=False, items=False):
    """Candidates as a set: without the '--opt=' that fish keeps, the '=' suffix zsh may show,
    for files only the base name (zsh offers the last path component; a command after mda:
    without the prefix), and for the items of a
    comma-separated list only the item (zsh offers it without the items before it)."""
    last = line.split(" ")[-1]
    prefix = last.split("=", 1)[0] + "=" if last.startswith("--") and "=" in last else ""
    result = set()
    for c in candidates:
        if prefix and c.startswith(prefix):
            c = c[len(prefix):]
        if c.startswith("--") and c.endswith("="):
            c = c[:-1]
        if files:
            c = c.rstrip("/").rsplit("/", 1)[-1]
            c = c.removeprefix("mda:")  # a command after --output mda: (a file, of PATH)
        if items:
            c = c.rsplit(",", 1)[-1]
        result.add(c)
    return result


COMMANDS = ("stat", "list", "top", "fetch", "check", "purge", "send", "info", "session")


def build_cases(binary, tmp):
    global_opts = defined_options(help_options(binary, "--help"))
    per_command = {c: defined_options(help_options(binary, "help", c)) for c in COMMANDS}
    own = {c: opts - global_opts for c, opts in per_command.items()}
    command_only = set().union(*own.values())
    if not global_opts or not all(own[c] for c in ("list", "fetch", "purge", "send")):
        sys.exit("FAIL: cannot read the options from the program's help")
    every_command = set(COMMANDS) | {"help"}

    accounts = {"default", "work", "o365", "my-box"}
    files = tmp / "files"
    cases = [
        # (line, kind, expected, environment changes)
        ("mailwrench li", "exact", {"list"}, {}),
        ("mailwrench s", "exact", {"stat", "send", "session"}, {}),
        ("mailwrench st", "exact", {"stat"}, {}),
        ("mailwrench se", "exact", {"send", "session"}, {}),
        ("mailwrench ses", "exact", {"session"}, {}),
        ("mailwrench f", "exact", {"fetch"}, {}),
        ("mailwrench pu", "exact", {"purge"}, {}),
        ("mailwrench ", "exact", every_command, {}),
        ("mailwrench -v --json ", "exact", every_command, {}),
        ("mailwrench list --he", "exact", {"--headers", "--header", "--help"}, {}),
        ("mailwrench stat --he", "exact", {"--help"}, {}),
        ("mailwrench -H pop.example.com -u me list --from x --l", "exact", {"--larger-than", "--log-file"},
         {}),
        ("mailwrench --tls ", "exact", {"implicit", "starttls", "none"}, {}),
        ("mailwrench --tls=st", "exact", {"starttls"}, {}),
        ("mailwrench list --tls n", "exact", {"none"}, {}),
        ("mailwrench --auth ", "exact", {"auto", "user", "apop", "plain", "login", "cram-md5",
                                        "scram-sha-256", "xoauth2", "oauthbearer"}, {}),
        ("mailwrench --auth sc", "exact", {"scram-sha-256"}, {}),
        ("mailwrench -a ", "exact", accounts, {}),
        ("mailwrench --account ", "exact", accounts, {}),
        ("mailwrench --account=w", "exact", {"work"}, {}),
        ("mailwrench list -a m", "exact", {"my-box"}, {}),
        (f"mailwrench --config {tmp}/other.conf -a ", "exact", {"other"}, {}),
        (f"mailwrench --config={tmp}/other.conf stat -a ", "exact", {"other"}, {}),
        ("mailwrench -a ", "exact", {"xdgacct"},
         {"MAILWRENCH_CONFIG": None, "XDG_CONFIG_HOME": str(tmp / "xdg")}),
        ("mailwrench -a ", "exact", {"homeacct"},
         {"MAILWRENCH_CONFIG": None, "XDG_CONFIG_HOME": None}),
        ("mailwrench help ", "exact", every_command, {}),
        ("mailwrench help l", "exact", {"list"}, {}),
        ("mailwrench help p", "exact", {"purge"}, {}),
        ("mailwrench help se", "exact", {"send", "session"}, {}),
        ("mailwrench help list ", "exact", set(), {}),
        (f"mailwrench --cacert {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        (f"mailwrench --password-file {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        (f"mailwrench --config {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        (f"mailwrench --log-file {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        (f"mailwrench list --uid-file {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        # purge and fetch: their own options, and the values of fetch's.
        ("mailwrench purge --d", "exact", {"--dry-run"}, {}),
        ("mailwrench purge --y", "exact", {"--yes"}, {}),
        ("mailwrench info --ch", "exact", {"--check"}, {}),
        # session (issue 15): its own options; --script takes a file.
        ("mailwrench session --k", "exact", {"--keep-going", "--keep-alive"}, {}),
        # session's own options and the global --source-address (17.4) and --syslog (17.6)
        ("mailwrench -a work session --s", "exact", {"--smtp", "--script", "--source-address", "--syslog"}, {}),
        ("mailwrench --sy", "exact", {"--syslog"}, {}),
        ("mailwrench session --r", "exact", {"--raw"}, {}),
        (f"mailwrench session --script {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        (f"mailwrench session --script={files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        ("mailwrench fetch --max-size 5M --w", "exact", {"--wait-lock"}, {}),
        ("mailwrench fetch --n", "exact", {"--new", "--newer-than", "--no-pipelining"}, {}),
        ("mailwrench fetch -o ", "exact", {"maildir:", "mbox:", "dir:", "mda:", "-"}, {}),
        ("mailwrench fetch --output m", "exact", {"maildir:", "mbox:", "mda:"}, {}),
        ("mailwrench fetch --output=d", "exact", {"dir:"}, {}),
        ("mailwrench fetch --output mda:dovecon", "files", {"doveconf"}, {}),
        ("mailwrench fetch -o mda:doveco", "files", {"doveconf", "dovecot"}, {}),
        ("mailwrench fetch --md", "exact", {"--mda-timeout"}, {}),
        (f"mailwrench fetch -o mbox:{files}/c", "files", {"ca.pem", "cb.txt", "cdir"}, {}),
        (f"mailwrench fetch -o maildir:{files}/c", "files", {"cdir"}, {}),
        (f"mailwrench fetch -o maildir:{files}/c", "files-excludes", {"ca.pem", "cb.txt"}, {}),
        (f"mailwrench fetch --output=dir:{files}/c", "files", {"cdir"}, {}),
        (f"mailwrench -a work fetch -o maildir:{files}/x --c", "exact",
         {"--config", "--cacert", "--crlf"}, {}),
        (f"mailwrench fetch --state {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        # fetch --import-state TOOL:FILE (issue 17.3).
        ("mailwrench fetch --import-state ", "exact", {"mpop:", "fetchmail:", "getmail:"}, {}),
        ("mailwrench fetch --import-state=f", "exact", {"fetchmail:"}, {}),
        (f"mailwrench fetch --import-state mpop:{files}/c", "files", {"ca.pem", "cb.txt", "cdir"}, {}),
        (f"mailwrench fetch --import-state=getmail:{files}/c", "files", {"ca.pem", "cb.txt", "cdir"}, {}),
        (f"mailwrench fetch --state={files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        (f"mailwrench purge --uid-file {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        (f"mailwrench fetch --uid-file {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        # top: --lines, --raw and the selection options (issue 13.6).
        ("mailwrench top --l", "exact", {"--lines", "--larger-than", "--log-file"}, {}),
        ("mailwrench top 3 --lines 5 --r", "exact", {"--raw"}, {}),
        (f"mailwrench top --uid-file {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        # send: its own options, and the values of those that have a fixed set.
        ("mailwrench send --d", "exact", {"--dry-run", "--dsn-notify", "--dsn-return",
                                          "--dsn-envid"}, {}),
        ("mailwrench send --await-", "exact", {"--await-timeout", "--await-purge"}, {}),
        ("mailwrench send --from a@example.com --to b@example.com --ch", "exact",
         {"--chunking"}, {}),
        ("mailwrench -a work send --to b@example.com --b", "exact",
         {"--bcc", "--body", "--body-file"}, {}),
        ("mailwrench send --from ", "exact", set(), {}),
        ("mailwrench send --tls s", "exact", {"starttls"}, {}),
        ("mailwrench send --auth ", "exact", {"auto", "plain", "login", "cram-md5",
                                             "scram-sha-256", "xoauth2", "oauthbearer"}, {}),
        ("mailwrench send --dsn-return ", "exact", {"full", "hdrs"}, {}),
        ("mailwrench send --dsn-return=h", "exact", {"hdrs"}, {}),
        ("mailwrench send --dsn-notify ", "exact", {"NEVER", "SUCCESS", "FAILURE", "DELAY"}, {}),
        ("mailwrench send --dsn-notify=S", "exact", {"SUCCESS"}, {}),
        ("mailwrench send --dsn-notify SUCCESS,", "items", {"FAILURE", "DELAY"}, {}),
        ("mailwrench send --dsn-notify FAILURE,DELAY,", "items", {"SUCCESS"}, {}),
        ("mailwrench send --await ", "exact", accounts, {}),
        ("mailwrench send --await=w", "exact", {"work"}, {}),
        ("mailwrench -a work send --to b@example.com --await m", "exact", {"my-box"}, {}),
        (f"mailwrench --config {tmp}/other.conf send --await ", "exact", {"other"}, {}),
        (f"mailwrench send --attach {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        (f"mailwrench send --to b@example.com --attach={files}/c", "files",
         {"ca.pem", "cb.txt"}, {}),
        (f"mailwrench send --body-file {files}/c", "files", {"ca.pem", "cb.txt"}, {}),
        ("mailwrench --", "contains", global_opts, {}),
        ("mailwrench --", "excludes", command_only, {}),
    ]
    for command, opts in per_command.items():
        cases.append((f"mailwrench {command} --", "contains", opts, {}))
        others = command_only - own[command]
        if others:
            cases.append((f"mailwrench {command} --", "excludes", others, {}))
    return cases


def make_fixture(tmp):
    (tmp / "config").write_text(
        "# mailwrench test config\n"
        "timeout = 60   # for all\n"
        "# [account commented]\n"
        "[account default]\nhost = pop.example.com\n\n"
        "[account work]   # the office\nhost = mail.corp.example\ntls = starttls\n"
        "[account o365]\nhost = outlook.office365.com\n"
        "[account my-box]\nhost = 192.0.2.1\n")
    (tmp / "other.conf").write_text("[account other]\nhost = x\n")
    (tmp / "xdg/mailwrench").mkdir(parents=True)
    (tmp / "xdg/mailwrench/config").write_text("[account xdgacct]\nhost = x\n")
    (tmp / "home/.config/mailwrench").mkdir(parents=True)
    (tmp / "home/.config/mailwrench/config").write_text("[account homeacct]\nhost = x\n")
    (tmp / "files").mkdir()
    (tmp / "files/ca.pem").write_text("")
    (tmp / "files/cb.txt").write_text("")
    (tmp / "files/other").write_text("")
    (tmp / "files/cdir").mkdir()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shell", required=True, choices=["bash", "zsh", "fish"])
    parser.add_argument("--mailwrench", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    source = pathlib.Path(args.source).resolve()

    with tempfile.TemporaryDirectory(prefix="mw-completion-") as name:
        tmp = pathlib.Path(name)
        make_fixture(tmp)
        try:
            if args.shell == "bash":
                shells = [Bash(source, False, "="), Bash(source, False, "=:")]
                if BASH_COMPLETION.is_file():
                    shells.append(Bash(source, True, "=:"))
                else:
                    print("note: bash-completion is not installed; testing without it")
            elif args.shell == "fish":
                shells = [Fish(source)]
            else:
                shells = [Zsh(source, tmp)]
        except Skip as e:
            print(f"SKIP: {e}")
            return 77

        base = {k: v for k, v in os.environ.items()
                if not k.startswith("MAILWRENCH_") and k != "XDG_CONFIG_HOME"}
        base.update(HOME=str(tmp / "home"), MAILWRENCH_CONFIG=str(tmp / "config"))
        failures = 0
        cases = build_cases(args.mailwrench, tmp)
        queries = []
        for line, kind, expected, changes in cases:
            env = dict(base)
            for k, v in changes.items():
                if v is None:
                    env.pop(k, None)
                else:
                    env[k] = v
            queries.append((line, env))
        for shell in shells:
            try:
                answers = shell.complete_all(queries)
            except Skip as e:
                print(f"SKIP: {e}")
                return 77
            for (line, kind, expected, changes), answer in zip(cases, answers):
                what = f"{shell.name}: {line!r}" + (f" {changes}" if changes else "")
                if isinstance(answer, Exception):
                    print(f"FAIL {what}: {answer}")
                    failures += 1
                    continue
                got = normalize(line, answer, files=kind.startswith("files"),
                                items=kind == "items")
                if kind in ("exact", "items"):
                    ok, detail = got == expected, f"expected {sorted(expected)}"
                elif kind in ("contains", "files"):
                    missing = expected - got
                    ok, detail = not missing, f"missing {sorted(missing)}"
                else:
                    extra = expected & got
                    ok, detail = not extra, f"should not offer {sorted(extra)}"
                if ok:
                    print(f"ok   {what} ({kind})")
                else:
                    print(f"FAIL {what}: got {sorted(got)}, {detail}")
                    failures += 1
        if failures:
            print(f"{failures} failure(s)")
            return 1
        print("all completions ok")
        return 0


if __name__ == "__main__":
    sys.exit(main())
