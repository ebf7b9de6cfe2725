#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every source file names its license (Apache-2.0) in an SPDX line at its top.

  check_spdx.py --source DIR             list the source files without the line; exit 1 if any
  check_spdx.py --source DIR --fix       add the line where it is missing (scripts/add-spdx.sh)
  check_spdx.py --source DIR --self-test plant files without the line in a temporary tree: the
                                         check must name them and --fix must repair them

Source files: C++ (.cpp .hpp .h), CMake (CMakeLists.txt, .cmake, .cmake.in), Python, shell
(.sh, and files starting with #!), the completions (bash, zsh, fish) and the manual pages
(.1 to .8). The line comes first, after a first line that must stay first (#!, zsh's
#compdef, an editor's -*- mode -*- line, roff's '\\\" preprocessor line). Data (test corpora,
.eml messages, JSON) and Markdown are no source files. build*/ and hidden folders are skipped.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LICENSE = "Apache-2.0"
SKIP_DIRS = {"__pycache__", "corpus"}
MAN = re.compile(r"\.[1-8]$")


def comment_for(path: Path) -> str | None:
    """The comment leader of the file's language, or None when it is no source file."""
    name = path.name
    if name.endswith((".cpp", ".hpp", ".h")):
        return "//"
    if name == "CMakeLists.txt" or name.endswith((".cmake", ".cmake.in")):
        return "#"
    if name.endswith((".py", ".sh", ".bash", ".zsh", ".fish")) or name == "_mailwrench":
        return "#"
    if MAN.search(name):
        return '.\\"'
    try:
        with path.open("rb") as f:
            if f.read(2) == b"#!":
                return "#"
    except OSError:
        pass
    return None


def spdx_line(leader: str) -> str:
    return f"{leader} SPDX-License-Identifier: {LICENSE}"


def keeps_first(line: str) -> bool:
    return line.startswith(("#!", "#compdef", "'\\\"")) or "-*-" in line


def source_files(source: Path):
    for root, dirs, files in os.walk(source):
        rel_root = Path(root).relative_to(source)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") or (rel_root == Path(".") and d == ".ci"))
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not (rel_root == Path(".") and d.startswith("build"))]
        for name in sorted(files):
            path = Path(root) / name
            leader = comment_for(path)
            if leader is not None and path.is_file():
                yield path, leader


def has_line(lines: list[str], leader: str) -> bool:
    expected = spdx_line(leader)
    head = lines[1:2] if lines and keeps_first(lines[0]) else lines[:1]
    return head == [expected]


def check(source: Path) -> list[Path]:
    missing = []
    for path, leader in source_files(source):
        lines = path.read_text(errors="replace").splitlines()
        if not has_line(lines, leader):
            missing.append(path)
    return missing


def fix(source: Path) -> list[Path]:
    fixed = []
    for path, leader in source_files(source):
        text = path.read_text()
        lines = text.splitlines(keepends=True)
        if has_line([line.rstrip("\n") for line in lines], leader):
            continue
        at = 1 if lines and keeps_first(lines[0]) else 0
        lines.insert(at, spdx_line(leader) + "\n")
        mode = path.stat().st_mode
        path.write_text("".join(lines))
        os.chmod(path, mode)
        fixed.append(path)
    return fixed


def self_test() -> int:
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = {
            "src/a.cpp": "#include <x>\n",
            "scripts/run.sh": "#!/bin/sh\necho hi\n",
            ".ci/run": "#!/usr/bin/env bash\ntrue\n",
            "completions/_mailwrench": "#compdef mailwrench\n_arguments\n",
            "man/mailwrench.1": ".TH MAILWRENCH 1\n",
            "CMakeLists.txt": "project(x)\n",
            "tests/t.py": '"""Doc."""\n',
            "tests/fuzz/corpus/x/data": "#!not a source\n",
            "build/default/gen.cpp": "int x;\n",
            "README.md": "# Title\n",
        }
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        os.chmod(root / "scripts/run.sh", 0o755)
        expect = sorted(["src/a.cpp", "scripts/run.sh", ".ci/run", "completions/_mailwrench",
                         "man/mailwrench.1", "CMakeLists.txt", "tests/t.py"])
        found = sorted(p.relative_to(root).as_posix() for p in check(root))
        if found != expect:
            print(f"FAIL: the check named {found}, expected {expect}")
            failed = True
        fix(root)
        left = check(root)
        if left:
            print(f"FAIL: --fix left {left}")
            failed = True
        run = (root / "scripts/run.sh").read_text().splitlines()
        if run[:2] != ["#!/bin/sh", "# SPDX-License-Identifier: Apache-2.0"]:
            print(f"FAIL: the shebang is not kept first: {run[:2]}")
            failed = True
        if not os.access(root / "scripts/run.sh", os.X_OK):
            print("FAIL: --fix lost the executable bit")
            failed = True
        if (root / "man/mailwrench.1").read_text().splitlines()[0] != '.\\" SPDX-License-Identifier: Apache-2.0':
            print("FAIL: the manual page's line is no roff comment")
            failed = True
        if fix(root):
            print("FAIL: a second --fix changed files")
            failed = True
        if shutil.which("groff"):
            out = subprocess.run(["groff", "-man", "-ww", "-z", str(root / "man/mailwrench.1")],
                                 capture_output=True, text=True)
            if out.stderr:
                print(f"FAIL: groff warns about the roff line: {out.stderr}")
                failed = True
    print("FAIL" if failed else "ok: files without the line are named, --fix adds it once, shebangs stay first")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--fix", action="store_true")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    source = args.source.resolve()
    if args.fix:
        for path in fix(source):
            print(f"added: {path.relative_to(source)}")
        return 0
    missing = check(source)
    for path in missing:
        leader = comment_for(path)
        print(f"{path.relative_to(source)}: no '{spdx_line(leader or '#')}' line at the top "
              f"(scripts/add-spdx.sh adds it)")
    if missing:
        return 1
    print(f"ok: every source file names {LICENSE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
