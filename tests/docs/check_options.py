#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The manual page and the three shell completions know every command and option of the
program: runs `mailwrench --help` and `mailwrench help CMD` for every command that --help
lists, and fails naming each command, long option (and short form) that the manual page
(man/mailwrench.1) or a completion file (completions/) lacks.

    check_options.py --mailwrench build/default/src/mailwrench --source .
    check_options.py ... --errors     (instead: the exit codes and JSON error kinds of
                                       src/util/error.{hpp,cpp} in the EXIT STATUS section)
"""
import argparse
import pathlib
import re
import subprocess
import sys

LONG = re.compile(r"(?<![\w-])--([a-z0-9][a-z0-9-]*)")
# "-a [ --account ] NAME" as Program_options prints a short form with its long name.
SHORT = re.compile(r"^\s+-([A-Za-z0-9]) \[ --([a-z0-9-]+) \]", re.M)


def run(binary, *args):
    res = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        sys.exit(f"FAIL: '{binary} {' '.join(args)}' exited with {res.returncode}:\n{res.stderr}")
    return res.stdout


def commands_of(help_text):
    """The command words of the "Commands:" block of --help."""
    block = help_text.split("Commands:", 1)
    if len(block) != 2:
        sys.exit("FAIL: 'mailwrench --help' has no 'Commands:' section")
    names = []
    for line in block[1].splitlines():
        if not line.strip():
            if names:
                break
            continue
        m = re.match(r"^\s{2}([a-z][a-z0-9-]*)\b", line)
        if m:
            names.append(m.group(1))
    if not names:
        sys.exit("FAIL: no commands found in 'mailwrench --help'")
    return names


def roff_text(path):
    """The roff source with \\- as -, font escapes removed, so that options read as typed."""
    text = path.read_text(encoding="utf-8")
    text = text.replace("\\-", "-").replace("\\(en", "-")
    text = re.sub(r"\\f[BIRP]|\\f\[[A-Z]*\]|\\&", "", text)
    return text


def has_long(text, name, kind):
    if kind == "fish":
        pattern = rf"(?:-l|--long(?:-option)?)\s+['\"]?{re.escape(name)}(?![\w-])"
    else:
        pattern = rf"(?<![\w-])--{re.escape(name)}(?![\w-])"
    return re.search(pattern, text) is not None


def has_short(text, letter, long_name, kind):
    if kind == "fish":
        # complete ... -s a -l account (on one line)
        pattern = rf"-s\s+{re.escape(letter)}\s+-l\s+{re.escape(long_name)}(?![\w-])"
    elif kind == "man":
        pattern = rf"(?<![\w-])-{re.escape(letter)}, --{re.escape(long_name)}(?![\w-])"
    else:
        pattern = rf"(?<![\w-])-{re.escape(letter)}(?![\w-])"
    return re.search(pattern, text) is not None


def man_commands(man):
    """Command words that head a .TP paragraph in the COMMANDS section."""
    m = re.search(r"^\.SH COMMANDS\n(.*?)^\.SH ", man, re.M | re.S)
    if not m:
        return set()
    lines = m.group(1).splitlines()
    found = set()
    for i, line in enumerate(lines[:-1]):
        if line.startswith(".TP"):
            head = re.sub(r"^\.[A-Z]+\s*", "", lines[i + 1]).strip().strip('"')
            if head:
                found.add(head.split()[0].strip('"'))
    return found


def check_options(args):
    binary, source = args.mailwrench, pathlib.Path(args.source)
    main_help = run(binary, "--help")
    commands = commands_of(main_help)
    texts = {"--help": main_help}
    for command in commands:
        if command != "help":
            texts[f"help {command}"] = run(binary, "help", command)
    longs, shorts = {}, {}
    for where, text in texts.items():
        for name in LONG.findall(text):
            longs.setdefault(name, where)
        for letter, name in SHORT.findall(text):
            shorts[letter] = name

    files = {
        "man/mailwrench.1": ("man", roff_text(source / "man/mailwrench.1")),
        "completions/mailwrench.bash": ("bash", None),
        "completions/_mailwrench": ("zsh", None),
        "completions/mailwrench.fish": ("fish", None),
    }
    problems = []
    for rel, (kind, text) in files.items():
        path = source / rel
        if text is None:
            if not path.is_file():
                problems.append(f"{rel}: missing")
                continue
            text = path.read_text(encoding="utf-8")
        for name, where in sorted(longs.items()):
            if not has_long(text, name, kind):
                problems.append(f"{rel}: option --{name} (from 'mailwrench {where}') is missing")
        for letter, name in sorted(shorts.items()):
            if not has_short(text, letter, name, kind):
                form = f"'-{letter}, --{name}'" if kind == "man" else f"-{letter}"
                problems.append(f"{rel}: short option {form} is missing")
        for command in commands:
            if kind == "man":
                ok = command in man_commands(text) or (
                    command == "help" and re.search(r"^\.B mailwrench help", text, re.M))
            else:
                word = rf"(?<![\w-]){re.escape(command)}(?![\w-])"
                pattern = {"zsh": rf"'{re.escape(command)}:",  # _describe's 'name:description'
                           "fish": rf"-a\s+['\"]?[^'\"\n]*{word}"}.get(kind, word)
                ok = re.search(pattern, text) is not None
            if not ok:
                problems.append(f"{rel}: command '{command}' is missing")

    print(f"commands: {' '.join(commands)}")
    print(f"long options ({len(longs)}): {' '.join('--' + n for n in sorted(longs))}")
    print(f"short options: {' '.join('-' + s for s in sorted(shorts))}")
    return problems


def check_errors(args):
    source = pathlib.Path(args.source)
    header = (source / "src/util/error.hpp").read_text(encoding="utf-8")
    kinds = (source / "src/util/error.cpp").read_text(encoding="utf-8")
    codes = dict(re.findall(r"^\s*([a-z_]+)\s*=\s*(\d+),", header, re.M))
    kind_of = dict(re.findall(r"case ExitCode::([a-z_]+):\s*return \"([a-z_]+)\";", kinds))
    if not codes or not kind_of:
        return ["cannot read the exit codes from src/util/error.hpp and src/util/error.cpp"]
    man = roff_text(source / "man/mailwrench.1")
    m = re.search(r"^\.SH EXIT STATUS\n(.*?)^\.SH ", man, re.M | re.S)
    if not m:
        return ["man/mailwrench.1: no EXIT STATUS section"]
    section = m.group(1)
    problems = []
    for name, number in sorted(codes.items(), key=lambda kv: int(kv[1])):
        kind = kind_of.get(name)
        if kind is None:
            problems.append(f"src/util/error.cpp: no kind for ExitCode::{name}")
            continue
        if not re.search(rf"^\.BR {number} \" \({re.escape(kind)}\)\"", section, re.M):
            problems.append(f"man/mailwrench.1: EXIT STATUS lacks '.BR {number} \" ({kind})\"'")
        if kind != "ok" and not re.search(rf"(?<![\w-]){re.escape(kind)}(?![\w-])",
                                          man.split(".SH JSON OUTPUT", 1)[-1]):
            problems.append(f"man/mailwrench.1: JSON OUTPUT does not name the error kind '{kind}'")
    print(f"exit codes: {' '.join(f'{n}={kind_of.get(k)}' for k, n in codes.items())}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mailwrench", help="the mailwrench binary")
    parser.add_argument("--source", required=True, help="the source directory")
    parser.add_argument("--errors", action="store_true", help="check the exit codes instead")
    args = parser.parse_args()
    if args.errors:
        problems = check_errors(args)
    else:
        if not args.mailwrench:
            parser.error("--mailwrench is required")
        problems = check_options(args)
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
