#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks every #include of src/ against src/include-rules.txt (see its header).

    check_includes.py --source DIR              exit 0, or 1 with one line per forbidden include
    check_includes.py --source DIR --self-test  the check itself: on a copy of src/, adds an Asio
                                                include to the POP3 parser, an upward include to
                                                the stores, a transport include to the channel and
                                                protocol includes to the message code and the
                                                mailbox model, and expects each to be refused
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')
# Libraries whose headers are checked (everything else with <...> is the C++/C/POSIX library).
LIBRARIES = ("boost", "openssl", "spdlog", "nlohmann", "catch2", "fmt")


def read_rules(path: Path) -> dict[str, list[str]]:
    rules: dict[str, list[str]] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        place, sep, allowed = line.partition(":")
        if not sep or not place.strip():
            raise SystemExit(f"{path}:{number}: expected 'PLACE: ALLOWED...', got {line!r}")
        rules[place.strip()] = allowed.split()
    return rules


def allows(entry: str, include: str) -> bool:
    return include == entry or include.startswith(entry.rstrip("/") + "/") or \
        include.startswith(entry + ".")


def check(src: Path, rules: dict[str, list[str]]) -> list[str]:
    folders = {p.name for p in src.iterdir() if p.is_dir()}
    problems = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".hpp", ".cpp", ".h") or not path.is_file():
            continue
        rel = path.relative_to(src).as_posix()
        folder = rel.split("/")[0] if "/" in rel else ""
        place = rel if rel in rules else folder
        if place not in rules:
            problems.append(f"src/{rel}: no rule for '{folder or rel}' in include-rules.txt")
            continue
        own_folder = place == folder
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            top = inc.split("/")[0]
            if top not in folders and top not in LIBRARIES:
                continue  # the standard library, POSIX
            if own_folder and top == folder:
                continue
            if not any(allows(entry, inc) for entry in rules[place]):
                problems.append(f"src/{rel}:{number}: includes <{inc}>, which '{place}' may not "
                                f"(allowed: {' '.join(rules[place]) or 'nothing'})")
    return problems


def self_test(source: Path) -> int:
    plants = [
        ("pop3/protocol.cpp", "#include <boost/asio/ip/tcp.hpp>", "an Asio include in the POP3 parser"),
        ("store/state.cpp", '#include "commands/context.hpp"', "a store reaching up to the commands"),
        ("net/channel.hpp", '#include "net/connection.hpp"', "the core's channel including the transport"),
        ("mail/headers.cpp", '#include "pop3/protocol.hpp"', "the message code including a protocol"),
        ("mailbox/message.hpp", '#include "pop3/client.hpp"', "the mailbox model including a protocol"),
    ]
    failures = 0
    for rel, line, what in plants:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "src"
            shutil.copytree(source / "src", copy)
            target = copy / rel
            target.write_text(line + "\n" + target.read_text())
            problems = check(copy, read_rules(copy / "include-rules.txt"))
            hit = [p for p in problems if p.startswith(f"src/{rel}:1:")]
            if hit:
                print(f"ok: {what} is refused: {hit[0]}")
            else:
                print(f"FAIL: {what} ({rel}) was not refused; problems: {problems}")
                failures += 1
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, type=Path)
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test(a.source)
    problems = check(a.source / "src", read_rules(a.source / "src" / "include-rules.txt"))
    for p in problems:
        print(p)
    print(f"{len(problems)} forbidden include(s)" if problems else "every include follows src/include-rules.txt")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
