#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The manual page is clean: `mandoc -Tlint -W warning` reports nothing (style hints are
# allowed) and `groff -man -ww -z` prints no warning. Skips (77) when neither is installed.
#   lint_man.sh man/mailwrench.1
page=${1:?usage: lint_man.sh PAGE}
[ -r "$page" ] || { echo "FAIL: cannot read $page"; exit 1; }
failed=0
ran=""
if command -v mandoc >/dev/null 2>&1; then
    ran="$ran mandoc"
    out=$(mandoc -Tlint -W warning "$page" 2>&1)
    rc=$?
    if [ -n "$out" ] || [ $rc -ne 0 ]; then
        echo "FAIL: mandoc -Tlint -W warning $page (exit $rc):"
        echo "$out"
        failed=1
    fi
else
    echo "note: mandoc is not installed (Debian: mandoc)"
fi
if command -v groff >/dev/null 2>&1; then
    ran="$ran groff"
    out=$(groff -man -ww -z "$page" 2>&1)
    rc=$?
    if [ -n "$out" ] || [ $rc -ne 0 ]; then
        echo "FAIL: groff -man -ww -z $page (exit $rc):"
        echo "$out"
        failed=1
    fi
else
    echo "note: groff is not installed (Debian: groff-base)"
fi
if [ -z "$ran" ]; then
    echo "SKIP: neither mandoc nor groff is installed (Debian: mandoc, groff-base)"
    exit 77
fi
[ $failed -eq 0 ] && echo "ok:$ran"
exit $failed
