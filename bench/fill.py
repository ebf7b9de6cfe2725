#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fill, or restore, a Maildir that a running Dovecot serves, for bench/run.sh.

    fill.py fill MAILDIR COUNT SIZE     COUNT generated messages of about SIZE octets each
                                        (SIZE may end in K or M: 10K, 200M)
    fill.py restore MAILDIR TEMPLATE    make MAILDIR hold exactly the files of TEMPLATE again
                                        (hard links, so it takes well under a second for 10,000),
                                        with Dovecot's index files removed; the next login
                                        rebuilds them (run.sh warms the index right after)
    fill.py snapshot MAILDIR TEMPLATE   hard-link MAILDIR's messages into TEMPLATE (new directory)

Messages: realistic headers (Return-Path, two Received, Date, From, To, Subject, Message-ID,
MIME headers, List-Id on some), body lines of about 76 characters, and on every 7th message a
few lines that start with '.' (so that dot-stuffing is exercised on the wire). Each is written
to tmp/ and renamed into new/ the Maildir way, named ...,S=<size>,W=<size with CRLF> so that
Dovecot answers LIST/STAT/UIDL without reading the files. Files are owned by the Maildir's
owner (uid/gid 8, "mail", in the integration fixture). Bodies are cut from one pre-generated
text pool, so 10,000 x 10 KB take about a second; a message above 8 MB is streamed to disk.
No fsync: the server reads what is in the page cache, and nothing here must survive a crash.
Only the standard library is used.
"""
from __future__ import annotations

import os
import random
import shutil
import sys
import time

WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her she there been one all we their has would when if "
         "so no what up out about into than them can only other new some could time these two "
         "may then do first any my now such like our over man me even most made after also "
         "mailbox message server client header folder delivery pipeline invoice meeting report "
         "quarterly schedule attachment review project budget release").split()
FIRST = ["Anna", "Ben", "Carla", "David", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas"]
LAST = ["Schmidt", "Okafor", "Rossi", "Nguyen", "Kowalski", "Silva", "Berg", "Tanaka"]
DOMAINS = ["example.org", "example.com", "example.net", "mail.example.de", "lists.example.org"]
TOPICS = ["Quarterly report", "Re: meeting on Thursday", "Invoice", "Build failed on main",
          "Fwd: travel plans", "Your order has shipped", "Weekly digest", "Re: Re: budget review",
          "Password reset requested", "Minutes of the project meeting"]
BIG = 8 * 1024 * 1024


def parse_size(s: str) -> int:
    mult = {"K": 1024, "M": 1024 * 1024, "G": 1024 ** 3}.get(s[-1:].upper(), 1)
    return int(float(s[:-1] if mult != 1 else s) * mult)


def text_pool(rng: random.Random, n: int = 4096) -> list[bytes]:
    """Body lines of 60..76 characters, none starting with '.'."""
    pool = []
    for _ in range(n):
        target = rng.randint(60, 76)
        words: list[str] = []
        length = 0
        while length < target:
            w = rng.choice(WORDS)
            words.append(w)
            length += len(w) + 1
        line = " ".join(words)[:target].rstrip()
        pool.append(line[:1].upper().encode() + line[1:].encode())
    return pool


def headers(i: int, count: int, token: str, rng: random.Random, to: str) -> bytes:
    ts = 1704067200 + i * 137  # from 2024-01-01, a couple of minutes apart
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ts))
    fn, ln = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    dom = DOMAINS[i % len(DOMAINS)]
    addr = f"{fn.lower()}.{ln.lower()}@{dom}"
    relay = f"mx{i % 4 + 1}.{dom}"
    lines = [
        f"Return-Path: <{addr}>",
        f"Received: from {relay} ({relay} [192.0.2.{i % 250 + 1}])",
        f"\tby mail.lab.test (Postfix) with ESMTPS id {token[:6].upper()}{i:06d}",
        f"\tfor <{to}>; {date}",
        f"Received: from [198.51.100.{i % 250 + 1}] by {relay} with ESMTPSA; {date}",
        f"Date: {date}",
        f"From: {fn} {ln} <{addr}>",
        f"To: {to}",
        f"Subject: {TOPICS[i % len(TOPICS)]} #{i} of {count}",
        f"Message-ID: <{token}.{i}@{relay}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii; format=flowed",
        "Content-Transfer-Encoding: 7bit",
    ]
    if i % 3 == 0:
        lines.append(f"List-Id: Weekly digest <digest.{dom}>")
    if i % 5 == 0:
        lines.append(f"In-Reply-To: <{token}.{max(1, i - 1)}@{relay}>")
    lines.append(f"X-Bench-Index: {i}")
    return ("\n".join(lines) + "\n\n").encode()


def maildir_owner(maildir: str) -> tuple[int, int]:
    st = os.stat(maildir)
    return st.st_uid, st.st_gid


def fill(maildir: str, count: int, size: int) -> None:
    for sub in ("cur", "new", "tmp"):
        if not os.path.isdir(os.path.join(maildir, sub)):
            sys.exit(f"fill.py: {maildir} is not a Maildir (no {sub}/)")
    uid, gid = maildir_owner(maildir)
    rng = random.Random(7)
    pool = text_pool(rng)
    token = f"{int(time.time()):x}{os.getpid():x}"
    to = os.path.basename(os.path.dirname(os.path.abspath(maildir))) + "@lab.test"
    now = int(time.time())
    host = "mwbench"
    total = 0
    for i in range(1, count + 1):
        head = headers(i, count, token, rng, to)
        name = f"{now}.M{i}P{os.getpid()}Q{token}.{host}"
        tmp = os.path.join(maildir, "tmp", name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        nlines = head.count(b"\n")
        written = 0
        with os.fdopen(fd, "wb", buffering=65536) as f:
            f.write(head)
            written += len(head)
            j = (i * 131) % len(pool)
            dots = i % 7 == 3
            if dots:
                block = b".\n..\n.leading dot, stuffed on the wire\n"
                f.write(block)
                written += len(block)
                nlines += 3
            if size > BIG:
                # big: write the whole pool as often as it fits, then top up line by line
                chunk = b"\n".join(pool) + b"\n"
                while written + len(chunk) < size - 100:
                    f.write(chunk)
                    written += len(chunk)
                    nlines += len(pool)
            body = []
            blen = 0
            mid = dots
            while written + blen < size - 40:
                line = pool[j % len(pool)]
                j += 1
                body.append(line)
                blen += len(line) + 1
                if mid and written + blen > size // 2:
                    body.append(b". a dot line in the middle")
                    blen += 27
                    mid = False
            body.append(b"-- ")
            body.append(f"{TOPICS[i % len(TOPICS)].split(':')[-1].strip()} {i}".encode())
            data = b"\n".join(body) + b"\n"
            f.write(data)
            written += len(data)
            nlines += len(body)
            os.fchown(f.fileno(), uid, gid)
        # Dovecot sends CRLF: the virtual size counts one CR per LF (no CRLF is stored).
        vsize = written + nlines
        os.rename(tmp, os.path.join(maildir, "new", f"{name},S={written},W={vsize}"))
        total += written
    print(f"fill.py: {count} messages, {total / 1048576:.1f} MiB into {maildir}/new")


def clear_index(maildir: str) -> None:
    for f in os.listdir(maildir):
        if f.startswith("dovecot"):
            p = os.path.join(maildir, f)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)


def restore(maildir: str, template: str) -> None:
    uid, gid = maildir_owner(maildir)
    for sub in ("cur", "new", "tmp"):
        p = os.path.join(maildir, sub)
        shutil.rmtree(p, ignore_errors=True)
        os.mkdir(p, 0o700)
        os.chown(p, uid, gid)
    clear_index(maildir)
    new = os.path.join(maildir, "new")
    n = 0
    for name in os.listdir(template):
        os.link(os.path.join(template, name), os.path.join(new, name))
        n += 1
    print(f"fill.py: restored {n} messages into {maildir}")


def snapshot(maildir: str, template: str) -> None:
    os.mkdir(template, 0o700)
    n = 0
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        for name in os.listdir(d):
            base = name.split(":", 1)[0]  # a message Dovecot moved to cur/ may carry flags
            os.link(os.path.join(d, name), os.path.join(template, base))
            n += 1
    print(f"fill.py: {n} messages in template {template}")


def main(argv: list[str]) -> int:
    if len(argv) == 5 and argv[1] == "fill":
        fill(argv[2], int(argv[3]), parse_size(argv[4]))
    elif len(argv) == 4 and argv[1] == "restore":
        restore(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "snapshot":
        snapshot(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
