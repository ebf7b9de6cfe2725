#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every authentication mechanism Dovecot offers, for alice and for carol (whose password is
full of shell- and quoting-hostile characters): stat must succeed and match, and the -v
transcript must show that the chosen mechanism was the one used."""
import re
import sys

import mwtest as mw
from mwtest import check, expect_ok

MECHS = ["user", "plain", "login", "cram-md5", "scram-sha-256", "apop", "auto"]
USED = {  # what the transcript (-v) must show for each --auth choice
    "user": r"\bUSER\s+{user}\b",
    "apop": r"\bAPOP\s+{user}\b",
    "plain": r"\bAUTH\s+PLAIN\b",
    "login": r"\bAUTH\s+LOGIN\b",
    "cram-md5": r"\bAUTH\s+CRAM-MD5\b",
    "scram-sha-256": r"\bAUTH\s+SCRAM-SHA-256\b",
}


def auth(ctx, mech, user, mode):
    if mech not in ("user", "auto") and mech not in ctx.env["mechanisms"]:
        raise mw.Skip(f"this Dovecot does not offer {mech.upper()} (fixture mechanisms: {ctx.env['mechanisms']})")
    res = ctx.run(ctx.conn(mode, user=user) + ["-v", "--auth", mech, "--json", "stat"], user=user)
    ctx.expect_stat_json(res, user=user, what=f"--auth {mech} as {user} over {mode}")
    if mech in USED:
        check(re.search(USED[mech].format(user=re.escape(user)), res.stderr, re.I),
              f"--auth {mech}: the -v transcript does not show /{USED[mech].format(user=user)}/", res)
    for other, pattern in USED.items():
        if other != mech and mech != "auto" and other not in ("user",) and re.search(
                pattern.format(user=re.escape(user)), res.stderr, re.I):
            mw.fail(f"--auth {mech}: the transcript shows {other} was tried as well", res)


for _mech in MECHS:
    mw.add(f"auth_{_mech}_alice", auth, _mech, "alice", "pop3s")
    mw.add(f"auth_{_mech}_carol", auth, _mech, "carol", "stls")


def auth_bob_auto_plain_port(ctx):
    """--tls none --allow-plaintext with --auth auto: still logs in."""
    res = ctx.run(ctx.conn("plain", user="bob") + ["--allow-plaintext", "--json", "stat"], user="bob")
    ctx.expect_stat_json(res, user="bob", what="--tls none --allow-plaintext as bob")


mw.add("auth_auto_bob_plaintext_allowed", auth_bob_auto_plain_port)

if __name__ == "__main__":
    sys.exit(mw.main())
