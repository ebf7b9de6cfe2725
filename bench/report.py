#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turn one bench/run.sh result directory into the Markdown report (and print it).

    report.py RESULT_DIR OUTPUT.md [README.md]

With README.md (run.sh gives it for a full run and for a scale-only run, `--only 9`), the part
of its "Performance" section between the markers <!-- bench:begin --> and <!-- bench:end --> is
replaced by the run's short table and its targets (full run only), and the part between
<!-- bench-scale:begin --> and <!-- bench-scale:end --> by the scale table (job 9, issue 16),
so that the README shows what bench/RESULTS.md (RESULTS-scale.md) says.

RESULT_DIR holds rows.tsv (one row per job and tool, written by run.sh's measure()),
meta.json (machine, versions, sizes), scale.tsv (job 9: messages, octets served, message size per
mailbox size) and the hyperfine JSON files. Only the standard library.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import sys

# job key -> (label, key of the job whose mailwrench row the ratio column refers to)
JOBS = [
    ("f0", "1. fetch {n} × ~10 KB → Maildir", "f0"),
    ("w0", "7. wire limit: USER/PASS + RETR 1..{n} pipelined, replies discarded", "f0"),
    ("p0", "2. purge all {n}", "p0"),
    ("l0", "3. list --headers of {n}", "l0"),
    ("b0", "4. one {big}B message ({big_octets:,} octets on the wire)", "b0"),
    ("f20", "6. fetch {n} → Maildir, 20 ms RTT", "f20"),
    ("f20s", "6. fetch the first {subset} → Maildir, 20 ms RTT (lock-step client)", "f20s"),
    ("p20", "6. purge all {n}, 20 ms RTT", "p20"),
    ("l20", "6. list --headers of {n}, 20 ms RTT", "l20"),
    ("l20s", "6. list --headers of the first {subset}, 20 ms RTT (lock-step client)", "l20s"),
    ("s0", "5. send {sends} messages, one process each (STARTTLS + AUTH PLAIN)", "s0"),
    ("c0", "8. check {n} × ~10 KB (issue 14) vs fetch of them", "c0"),
]
ALL_JOBS = "1,2,3,4,5,6,7,8,9"


# job 9 (issue 16): the commands measured at every mailbox size, in the order of the tables,
# with the memory target at 100,000 messages (MiB; None: no target at that size)
SCALE_CMDS = [
    ("mailwrench list", "`list`", None),
    ("mailwrench list --headers", "`list --headers`", 48.0),
    ("mailwrench --json list --headers", "`--json list --headers`", 48.0),
    ("mailwrench fetch", "`fetch -o maildir:DIR`", 48.0),
    ("mailwrench fetch --new", "`fetch --new` (nothing new)", 48.0),
    ("mailwrench purge --all", "`purge --all --yes`", 32.0),
    ("mpop fetch", "mpop, the same fetch", None),
    ("mpop purge", "mpop, the same purge", None),
]
SCALE_TIME_RATIO = 1.25   # per-message time at 100k within 1.25 x of that at 10k
SCALE_1M_MIB = 128.0      # at 1,000,000: none over 128 MiB


def load_scale(res: str) -> list[tuple[int, int, str]]:
    path = os.path.join(res, "scale.tsv")
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        p = line.rstrip("\n").split("\t")
        if len(p) >= 3 and p[0].isdigit():
            out.append((int(p[0]), int(p[1] or 0), p[2]))
    return out


def load_state(res: str):
    """bench/state_bench.cpp's figures for the --new state (job 9), with its peak RSS, or None."""
    path = os.path.join(res, "state.json")
    if not os.path.exists(path):
        return None
    state = json.load(open(path))
    rss = os.path.join(res, "state.rss")
    lines = [l for l in open(rss).read().split() if l.isdigit()] if os.path.exists(rss) else []
    state["rss_kib"] = int(lines[-1]) if lines else None
    return state


def scale_tables(rows, sizes, state=None):
    """The scale report: (table, target table, console lines, README short table), or None."""
    if not sizes:
        return None

    def row(n, tool):
        for r in rows:
            if r["group"] == f"z{n}" and r["tool"] == tool:
                return r
        return None

    def ok(r):
        return r is not None and r["status"] == "ok" and r["median"] is not None

    lines = ["| messages | command | runs | median s | min–max s | peak RSS MiB | µs per message | CPU µs per message | RSS bytes per message | × mailwrench | load | check; notes |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    short = ["| messages | command | wall s | peak RSS MiB | µs / message | RSS bytes / message |",
             "|---:|---|---:|---:|---:|---:|"]
    for n, octets, _size in sizes:
        first = True
        for tool, label, _t in SCALE_CMDS:
            r = row(n, tool)
            if r is None:
                continue
            ref = None
            if tool.startswith("mpop "):
                ref = row(n, "mailwrench " + tool.split()[1] + (" --all" if tool.endswith("purge") else ""))
            ratio = f"{r['median'] / ref['median']:.2f}" if ok(r) and ok(ref) else "—"
            rss = f"{r['rss'] / 1024:.1f}" if r["rss"] else "—"
            per_t = f"{r['median'] / n * 1e6:.1f}" if ok(r) else "—"
            per_m = f"{r['rss'] * 1024 / n:,.0f}" if r["rss"] else "—"
            per_c = f"{r['cpu'] / n * 1e6:.1f}" if ok(r) and r.get("cpu") is not None else "—"
            rng = f"{fmt_s(r['min'])}–{fmt_s(r['max'])}" if r["min"] is not None else "—"
            check = r["check"] if r["status"] == "ok" else f"**{r['status']}**: {r['check']}"
            lines.append(f"| {f'{n:,}' if first else ''} | {label} | {r['runs']} | {fmt_s(r['median'])} | {rng} | "
                         f"{rss} | {per_t} | {per_c} | {per_m} | {ratio} | {r['load']} | "
                         f"{check.replace('|', '/')}; {r['note'].replace('|', '/')} |")
            if ok(r):
                short.append(f"| {f'{n:,}' if first else ''} | {label} | {fmt_s(r['median'])} | {rss} | {per_t} | {per_m} |")
            first = False
    tl = ["| target | measured | wanted | result |", "|---|---:|---:|---|"]
    console = []

    def target(name, value, op, limit, fmt="{:.2f}"):
        if value is None:
            verdict, shown = "n/a (not measured)", "—"
        else:
            good = value <= limit if op == "<=" else value < limit
            verdict, shown = ("PASS" if good else "FAIL"), fmt.format(value)
        wanted = f"{'≤' if op == '<=' else '<'} {limit:g}"
        tl.append(f"| {name} | {shown} | {wanted} | **{verdict}** |")
        console.append(f"{verdict:5s} {name}: {shown} (wanted {wanted})")

    ns = [n for n, _o, _s in sizes]
    small = ns[0]
    # Issue 16's time target is 100,000 against 10,000; at 1,000,000 it asks for the memory
    # bound only, so the per-message columns above show the time there without a verdict.
    timed = [n for n in ns[1:] if n <= 100000]
    for n in timed:
        for tool, label, _t in SCALE_CMDS:
            if not tool.startswith("mailwrench"):
                continue
            a, b = row(n, tool), row(small, tool)
            value = (a["median"] / n) / (b["median"] / small) if ok(a) and ok(b) else None
            target(f"{label}: per-message time at {n:,} ÷ at {small:,}", value, "<=", SCALE_TIME_RATIO)
    # The same ratio of the CPU time the client itself spent (user + system): what the code's
    # growth is, with the shared machine's load and the server's work left out.
    for n in timed:
        for tool, label, _t in SCALE_CMDS:
            if not tool.startswith("mailwrench"):
                continue
            a, b = row(n, tool), row(small, tool)
            value = ((a["cpu"] / n) / (b["cpu"] / small)
                     if ok(a) and ok(b) and a.get("cpu") and b.get("cpu") else None)
            target(f"{label}: per-message CPU time at {n:,} ÷ at {small:,}", value, "<=",
                   SCALE_TIME_RATIO)
    # what each further message costs: the difference between two sizes, so that the fixed cost
    # of start-up, handshake and login drops out (issue 16 wants ~64 bytes of state per message)
    ml = ["| command | sizes | µs per further message | RSS bytes per further message |",
          "|---|---|---:|---:|"]
    for n in ns[1:]:
        for tool, label, _t in SCALE_CMDS:
            a, b = row(n, tool), row(small, tool)
            if not (ok(a) and ok(b) and a["rss"] and b["rss"]):
                continue
            dt = (a["median"] - b["median"]) / (n - small) * 1e6
            dm = (a["rss"] - b["rss"]) * 1024 / (n - small)
            ml.append(f"| {label} | {small:,} → {n:,} | {dt:.1f} | {dm:,.0f} |")
    for n, limit_of in ((100000, lambda t: t), (1000000, lambda t: SCALE_1M_MIB)):
        if n not in ns:
            continue
        for tool, label, t in SCALE_CMDS:
            if t is None and n != 1000000 or not tool.startswith("mailwrench"):
                continue
            r = row(n, tool)
            value = r["rss"] / 1024 if r is not None and r["status"] == "ok" and r["rss"] else None
            target(f"{label}: peak RSS at {n:,}, MiB", value, "<", limit_of(t), "{:.1f}")
    if state:
        rounds = [a + b for a, b in zip(state["load_s"], state["save_s"])]
        target(f"`--new` state of {state['uids']:,} UIDs: load + save, s (median of {len(rounds)} rounds)",
               statistics.median(rounds), "<", 1.0, "{:.3f}")
    return "\n".join(lines), "\n".join(tl), console, "\n".join(short), "\n".join(ml)


def load(res: str):
    rows = []
    with open(os.path.join(res, "rows.tsv")) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 11:
                continue
            g, tool, note, runs, med, mn, mx, rss, status, text, loadavg = p[:11]
            cpu = p[11] if len(p) > 11 else ""
            rows.append({
                "group": g, "tool": tool, "note": note, "runs": int(runs or 0),
                "median": float(med) if med else None, "min": float(mn) if mn else None,
                "max": float(mx) if mx else None, "rss": int(rss) if rss else None,
                "status": status, "check": text, "load": loadavg,
                "cpu": float(cpu) if cpu else None,
            })
    meta = json.load(open(os.path.join(res, "meta.json")))
    return rows, meta


def fmt_s(x):
    if x is None:
        return "—"
    return f"{x:.3f}" if x < 10 else f"{x:.2f}" if x < 100 else f"{x:.1f}"


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 64
    res, out = argv[1], argv[2]
    readme = argv[3] if len(argv) == 4 else None
    rows, meta = load(res)
    ctx = {"n": meta["n"], "big": meta["big"], "big_octets": meta.get("big_octets", 0),
           "subset": meta["subset"], "sends": meta["sends"]}

    def row(g, tool):
        for r in rows:
            if r["group"] == g and r["tool"] == tool and r["status"] == "ok":
                return r
        return None

    def med(g, tool):
        r = row(g, tool)
        return r["median"] if r else None

    lines = []
    lines.append("| job | tool | runs | median s | min–max s | × mailwrench | peak RSS MiB | load | check; notes |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for key, label, ref in JOBS:
        group_rows = [r for r in rows if r["group"] == key]
        if not group_rows:
            continue
        base = med(ref, "mailwrench")
        first = True
        for r in group_rows:
            ratio = "—"
            if r["median"] is not None and base:
                ratio = f"{r['median'] / base:.2f}"
            rng = f"{fmt_s(r['min'])}–{fmt_s(r['max'])}" if r["min"] is not None else "—"
            rss = f"{r['rss'] / 1024:.1f}" if r["rss"] else "—"
            check = r["check"] if r["status"] == "ok" else f"**{r['status']}**: {r['check']}"
            tool = f"**{r['tool']}**" if r["tool"] == "mailwrench" else r["tool"]
            lines.append(f"| {label.format(**ctx) if first else ''} | {tool} | {r['runs']} | "
                         f"{fmt_s(r['median'])} | {rng} | {ratio} | {rss} | {r['load']} | "
                         f"{check.replace('|', '/')}; {r['note'].replace('|', '/')} |")
            first = False
    table = "\n".join(lines)

    # the README's short form: median and ratio only
    short_lines = ["| job | tool | median s | × mailwrench | peak RSS MiB |", "|---|---|---:|---:|---:|"]
    for key, label, ref in JOBS:
        base = med(ref, "mailwrench")
        first = True
        for r in (r for r in rows if r["group"] == key and r["status"] == "ok"):
            ratio_text = f"{r['median'] / base:.2f}" if r["median"] is not None and base else "—"
            rss = f"{r['rss'] / 1024:.1f}" if r["rss"] else "—"
            tool = f"**{r['tool']}**" if r["tool"] == "mailwrench" else r["tool"]
            short_lines.append(f"| {label.format(**ctx) if first else ''} | {tool} | {fmt_s(r['median'])} | "
                               f"{ratio_text} | {rss} |")
            first = False

    # targets of issue 7
    def ratio(a, b):
        return a / b if a is not None and b else None

    wires = [m for m in (med("w0", "openssl s_client"), med("w0", "python ssl")) if m is not None]
    wire = min(wires) if wires else None
    big_rss = row("b0", "mailwrench")
    n = meta["n"]
    targets = [
        (f"fetch {n} → Maildir at 0 ms: mailwrench / mpop", ratio(med("f0", "mailwrench"), med("f0", "mpop")), "<=", 0.80, ""),
        (f"fetch {n} → Maildir at 20 ms: mailwrench / mpop", ratio(med("f20", "mailwrench"), med("f20", "mpop")), "<=", 0.80, ""),
        (f"purge {n} at 0 ms: mailwrench / mpop", ratio(med("p0", "mailwrench"), med("p0", "mpop")), "<=", 1.00, ""),
        (f"purge {n} at 20 ms: mailwrench / mpop", ratio(med("p20", "mailwrench"), med("p20", "mpop")), "<=", 0.25, ""),
        (f"fetch {n} at 0 ms: mailwrench / wire limit", ratio(med("f0", "mailwrench"), wire), "<=", 1.10, "issue 16 goal 3; issue 7 asked ≤ 1.3"),
        (f"list --headers of {n} at 20 ms: mailwrench seconds", med("l20", "mailwrench"), "<", 3.0, "also in the issue"),
        (f"one {meta['big']}B message: mailwrench / curl wall time", ratio(med("b0", "mailwrench"), med("b0", "curl")), "<=", 1.00, "also in the issue"),
        (f"one {meta['big']}B message: mailwrench peak RSS, MiB", big_rss["rss"] / 1024 if big_rss and big_rss["rss"] else None, "<", 16.0, "also in the issue"),
        (f"send {meta['sends']}: mailwrench / msmtp", ratio(med("s0", "mailwrench"), med("s0", "msmtp")), "<=", 1.00, "also in the issue"),
        (f"check {n}: check / fetch", ratio(med("c0", "mailwrench"), med("c0", "mailwrench fetch")), "<=", 1.00, "issue 14; fetch → Maildir on disk"),
        (f"check {n}: check / fetch to tmpfs", ratio(med("c0", "mailwrench"), med("c0", "mailwrench fetch, tmpfs")), "<=", 1.00, "issue 14, stricter: fetch with no disk"),
    ]
    tl = ["| target | measured | wanted | result |", "|---|---:|---:|---|"]
    console = []
    for name, value, op, limit, extra in targets:
        if value is None:
            verdict = "n/a (not measured)"
            shown = "—"
        else:
            ok = value <= limit if op == "<=" else value < limit
            verdict = "PASS" if ok else "FAIL"
            shown = f"{value:.2f}"
        wanted = f"{'≤' if op == '<=' else '<'} {limit:g}"
        tl.append(f"| {name}{' (' + extra + ')' if extra else ''} | {shown} | {wanted} | **{verdict}** |")
        console.append(f"{verdict:5s} {name}: {shown} (wanted {wanted})")
    target_table = "\n".join(tl)

    def mins(sec: int) -> str:
        return f"{sec // 60} min {sec % 60} s" if sec >= 60 else f"{sec} s"

    m = meta["machine"]
    v = meta["versions"]
    failed = [r for r in rows if r["status"] != "ok"]
    kind = "quick run (`--quick`: smaller sizes, indicative only)" if meta["quick"] else (
        "partial run (`--only " + meta["only"] + "`)" if meta["only"] != meta.get("all_jobs", ALL_JOBS) else "full run")
    md = f"""# mailwrench benchmark results

{kind}, {meta['date']}, produced by `bench/run.sh{' --quick' if meta['quick'] else ''}{' --only ' + meta['only'] if meta['only'] != meta.get('all_jobs', ALL_JOBS) else ''}`: {mins(meta['elapsed_s'] - meta.get('setup_s', 0))} of
servers, data and measuring, after {mins(meta.get('setup_s', 0))} of install check and (incremental) build.
Every number below comes from this one run: same machine, same servers, same mailbox.

**Machine:** {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, kernel {m['kernel']}, work files on {m['filesystem']};
load average at the start {m['load_at_start']} (other work shares this machine: the load column is the 1-minute load average before each tool's runs).

**Versions:** {v['mailwrench']} (commit {v['mailwrench_commit']}) · {v['mpop']} · {v['fetchmail']} · {v['curl']} ·
{v['msmtp']} · {v['swaks']} · {v['openssl']} · Dovecot {v['dovecot']} · Postfix {v['postfix']} ·
{v['hyperfine']} · Python {v['python']}.

**Data:** {meta['n']:,} generated messages of ~10 KB ({meta['octets']:,} octets as served with CRLF), realistic
headers, body lines of 60–76 characters, dot-lines in every 7th message; one message of {meta['big']}B
({meta['big_octets']:,} octets served). Server: Dovecot POP3S (implicit TLS) and Postfix submission (STARTTLS) on
127.0.0.1, started by the integration-test fixtures. 20 ms jobs: {meta['netns']['mode']}; {meta['netns']['rtt']}.

## Results

Median wall time of the timed runs (hyperfine), min–max, and × mailwrench = this tool's median ÷
mailwrench's median in the same job (> 1: mailwrench is faster; the wire-limit rows refer to job 1;
in job 8 the **mailwrench** row is `check` and the ratio is fetch's time ÷ check's: > 1, check is faster).
Peak RSS: median over the timed runs of GNU time's `%M`, i.e. the largest single process of a run
(for fetchmail the MDA children count too; for the send loops, the largest of the 200 processes).

{table}

## Targets (issues 7 and 14)

{target_table}

## How it was measured, and what differs between the tools

- One warm-up run per tool, timed by `run.sh`, then N timed runs, each a `hyperfine --runs 1 --prepare ...`,
  **interleaved** with the other tools of the same job (mailwrench, mpop, fetchmail, mailwrench, mpop, ...), so
  that a slow spell of this shared machine — its disk above all — hits every tool alike. N = {meta['runs']} unless the
  warm-up run shows that N runs would take more than {meta['budget']} s; a tool whose warm-up alone takes more than
  {meta['budget'] / 2:g} s is measured once (its warm-up run is the measurement: "1" in the runs column; such a
  number carries the machine's noise of that moment, see the min–max of the others).
- Before every run (outside the timing): the previous run's output is moved aside, not deleted (on this
  machine's ext4, mounted with `discard` on a virtual disk, deleting 10,000 files made the next run's fsyncs
  two to three times slower), and `sync` flushes earlier runs' dirty pages;
  purge runs get their mailbox back (hard links from a template, Dovecot's index removed and rebuilt by a
  STAT), so every purge deletes {meta['n']:,} messages from a freshly indexed mailbox.
- **Durability.** mpop writes each message to `tmp/`, fsyncs it and links it into `new/`; mailwrench
  writes to `tmp/` and renames into `new/`, making the files durable as its Maildir sink is built to
  (at the time of writing: one `syncfs` per batch of at most 128 files or one second, then the renames and one `fsync` of `new/` — see `strace -c`). fetchmail cannot write a Maildir, so it delivers through
  `mda "safecat tmp new"`, which also fsyncs every file and links it into `new/` — but fetchmail forks
  `/bin/sh` + `safecat` per message, which is most of its time. curl (job 4) writes its file without fsync.
- **Login.** USER/PASS for mailwrench, mpop, fetchmail and the wire limit; curl cannot be made to send
  USER/PASS while the server offers SASL, so it uses AUTH PLAIN (the same single round trip).
- **TLS.** Everything is POP3S with the certificate verified: at 0 ms against the fixture's CA (127.0.0.1 is in
  the certificate); through the namespace the address is not, so mailwrench and mpop pin the certificate's
  SHA-256 fingerprint, curl maps `localhost` to the veth address with `--resolve`, fetchmail checks the name
  `localhost` (`sslcommonname`).
- **mpop** keeps its defaults (pipelining auto, `only_new` on) with the UIDL file removed before every run,
  `received_header off`. **purge** for mpop is `--keep=off --killsize=0`: DELE of every message without
  downloading (its delivery directory must exist, or it quits without QUIT and nothing is deleted).
- **Lock-step clients at 20 ms.** fetchmail (LIST n + RETR n per message) and curl (one TOP per round trip)
  need one or two round trips per message, so at 20 ms they are measured on the first {meta['subset']} messages,
  next to mailwrench doing the same {meta['subset']}.
- **The wire limit** is the same command stream mailwrench needs (USER, PASS, RETR 1..{meta['n']}, QUIT) written
  at once into `openssl s_client -quiet` or a Python non-blocking TLS socket, with the replies thrown away
  unparsed: no client can be faster against this server. The faster of the two is the target's reference.
  Its runs are interleaved with job 1's (one round of runs holds every tool of both jobs), so that the
  ratio compares runs made under the same conditions.
- **Check** (job 8, issue 14) runs `mailwrench --json check` of job 1's mailbox: every message downloaded with
  pipelined RETR and checked as it streams in, nothing stored; each run must exit 0 (no `error` finding) and
  the last run's JSON must say `"checked": {meta['n']}`. Its runs are interleaved with `mailwrench fetch` of
  the same mailbox into a Maildir on disk (as job 1: the target's reference) and into a Maildir on
  `/dev/shm` (tmpfs: the fetch with no disk under it). Neither deletes, so the mailbox is not restored.
- **Send** runs one process per message in a shell loop (the loop is timed as one unit), sender `s01`,
  recipient `s02@lab.test`; Postfix delivers in the background while the loop runs; the check waits until
  every message of every run has arrived in the recipient's Maildir.

Raw data (hyperfine JSON, peak RSS per run, exact commands, prepare steps and logs) is written to
`bench/results/<date>/` by each run; it is not kept in git.
"""
    main_keys = {k for k, _l, _r in JOBS}
    has_main = any(r["group"] in main_keys for r in rows)
    raw_at = md.find("\nRaw data (hyperfine JSON")
    if not has_main:  # a scale-only run: no jobs 1-8 tables, targets or notes
        # (the Data paragraph describes jobs 1-8's mailboxes: filled by every run, not measured here)
        md = md[:md.find("\n**Data:**")] + "\n" + md[raw_at:]
        table, console = "", []
        raw_at = md.find("\nRaw data (hyperfine JSON")
    sizes = load_scale(res)
    state = load_state(res)
    scale = scale_tables(rows, sizes, state)
    if scale:
        s_table, s_targets, s_console, s_short, s_marginal = scale
        state_text = ""
        if state:
            rss_text = f", peak RSS {state['rss_kib'] / 1024:.1f} MiB" if state.get("rss_kib") else ""
            state_text = (
                f"\nThe `--new` state file on its own (`bench/state_bench.cpp`, no server): "
                f"{state['uids']:,} UIDs in a {state['file_octets'] / 1e6:.1f} MB file; "
                f"three rounds of `UidState::load`, 1,000 UIDs recorded, `save()` (written, synced, "
                f"renamed): load {', '.join(f'{x:.3f}' for x in state['load_s'])} s, save "
                f"{', '.join(f'{x:.3f}' for x in state['save_s'])} s; the state holds "
                f"{state['footprint_octets'] / 1048576:.1f} MiB{rss_text}.\n")
        console += s_console
        data = "; ".join(f"{n:,} × ~{size}B ({octets:,} octets served)" for n, octets, size in sizes)
        md = md[:raw_at] + f"""
## Scale (job 9, issue 16)

How the cost grows with the mailbox. Mailboxes: {data}, generated by `bench/fill.py` (realistic
headers, body lines of 60–76 characters, dot-lines in every 7th message), in
one read-only mailbox per size (list, list --headers, --json list --headers, fetch, fetch --new) and one
purge mailbox restored from a hard-linked template before every purge run (Dovecot's index rebuilt by a
STAT, outside the timing). `fetch --new` is measured on the run after a first one that filled its state
file (nothing is new: UIDL of every message, state file loaded and saved). The tools of one size are
interleaved as in the other jobs, with at most 3 timed runs each (1 when the warm-up run alone takes
more than {max(meta['budget'], 60) / 2:g} s). µs per message = median wall ÷ messages; CPU µs per message = median
CPU time of the tool's process (user + system, GNU time's `%U + %S`) ÷ messages, which the machine's
other work and the server's share of it change far less than the wall time; RSS bytes per message = peak RSS ÷
messages: all three include the fixed cost of start-up, TLS handshake and login, which weighs more at the
smaller size. × mailwrench (mpop rows) = mpop's median ÷ mailwrench's for the same job (> 1: mailwrench is faster).
This machine has {m['nproc']} CPUs shared with other work (the load column), so single-run numbers carry its noise.

{s_table}

The cost of one more message, between two sizes (the fixed cost drops out; peak RSS is GNU time's `%M`
of one run, so the memory column is the growth of the peak, not an allocation count):

{s_marginal}
{state_text}
### Targets (issue 16: linear time, memory that does not grow with the mailbox)

{s_targets}
""" + md[raw_at:]
    subst = meta.get("substitute", [])

    def short(text: str) -> str:
        for a, b in subst:
            if a:
                text = text.replace(a, b)
        return text.strip().replace("|", "\\|")

    cl = ["| job | tool | command (timed) | prepare (before every run, not timed) |", "|---|---|---|---|"]
    for key in [k for k, _l, _r in JOBS] + [f"z{n}" for n, _o, _s in load_scale(res)]:
        for r in (r for r in rows if r["group"] == key):
            rid = re.sub(r"[^A-Za-z0-9]+", "-", f"{key}-{r['tool']}")
            try:
                cmd = short(open(os.path.join(res, rid + ".cmd")).read())
                prep = short(open(os.path.join(res, rid + ".prepare")).read())
            except OSError:
                continue
            cl.append(f"| {key} | {r['tool']} | `{cmd}` | {'`' + prep + '`' if prep != 'true' else ''} |")
    md += ("\n## Exact commands\n\n`$W` is the run's work directory (`/tmp/mwb-XXXXXX`: the fixture in `$W/srv`, "
           "client configurations in `$W`, outputs in `$W/out`), `$PW` the scratch users' password, "
           "`$SPW` the send user's, `$R` the result directory. Each timed command runs as "
           "`/usr/bin/time -f %M -a -o $R/<job>-<tool>.rss COMMAND` under hyperfine; "
           "the netns prefix is `ip netns exec mwbench<pid>`.\n\n" + "\n".join(cl) + "\n")
    if failed:
        md += "\n## Failed checks\n\n" + "\n".join(
            f"- {r['group']} {r['tool']}: {r['status']} — {r['check']}" for r in failed) + "\n"
    with open(out, "w") as f:
        f.write(md)
    if readme and scale:
        update_readme(readme, f"Scale (job 9): measured {meta['date']} by `sudo bench/run.sh"
                      f"{' --only 9' if not has_main else ''}` ({m['nproc']} CPUs, {m['cpu']}, a VM shared with "
                      f"other work; mailwrench commit {v['mailwrench_commit']}), medians. Full report: "
                      f"[bench/{os.path.basename(out)}](bench/{os.path.basename(out)}).\n\n" + s_short +
                      "\n\nThe cost of one more message (the difference between two sizes):\n\n" + s_marginal +
                      "\n\nTargets (issue 16):\n\n" + s_targets + "\n",
                      "<!-- bench-scale:begin -->", "<!-- bench-scale:end -->")
    if readme and has_main:
        update_readme(readme, f"Measured {meta['date']} by `sudo bench/run.sh` ({m['nproc']} CPUs, {m['cpu']}, "
                      f"a VM shared with other work; mailwrench commit {v['mailwrench_commit']}), medians; "
                      f"× mailwrench > 1 means mailwrench is faster. Full report, method and exact commands: "
                      f"[bench/RESULTS.md](bench/RESULTS.md).\n\n" + "\n".join(short_lines) +
                      "\n\nTargets (issues 7 and 14):\n\n" + target_table + "\n")
    print()
    if table:
        print(table)
        print()
    print("\n".join(console))
    if failed:
        print("\nFAILED: " + "; ".join(f"{r['group']} {r['tool']}" for r in failed))
    return 0


def update_readme(path: str, text: str, begin: str = "<!-- bench:begin -->",
                  end: str = "<!-- bench:end -->") -> None:
    with open(path) as f:
        readme = f.read()
    a, b = readme.find(begin), readme.find(end)
    if a < 0 or b < a:
        print(f"report.py: no {begin} ... {end} in {path}; README not updated", file=sys.stderr)
        return
    with open(path, "w") as f:
        f.write(readme[:a + len(begin)] + "\n" + text + readme[b:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
