#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/run.sh — mailwrench against mpop, fetchmail, curl, msmtp and swaks, in one run, on a
# private Dovecot + Postfix on loopback (the integration-test fixtures).
#
#   bench/run.sh [--quick] [--runs N] [--budget SECONDS] [--only JOBS] [--scale-1m] [--keep]
#
#   --quick        1,000 messages, one 20 MB message, 20 sends, at most 3 runs (a few minutes)
#   --runs N       at most N timed runs per tool (default 5; --quick 3)
#   --budget S     seconds of timed runs a tool may take before its run count is lowered
#                  (default 20; --quick 10). A tool whose warm-up run alone takes longer than
#                  S/2 is measured once: its warm-up run is the measurement (marked "1 run").
#   --only JOBS    comma-separated subset of the jobs 1..9 (e.g. --only 1,7); 6 is the latency set,
#                  9 the scale set (`--only 9` alone writes bench/RESULTS-scale.md and the README's
#                  scale table)
#   --scale-1m     job 9 also at 1,000,000 messages (or MW_BENCH_SCALE_1M=1): needs ~10 GB of disk
#                  (mailbox and three Maildirs of 2 GB each), and tens of minutes (mpop's fetch of
#                  100,000 alone took 105 s here); off by default
#   --keep         keep the work directory (servers are stopped all the same)
#
# Jobs (the numbers of issue 7): 1 fetch N ~10 KB messages into a Maildir; 2 purge all N;
# 3 list --headers of N; 4 one 200 MB message; 5 send 200 messages, one process each;
# 6 jobs 1-3 again through a network namespace with 20 ms round trip; 7 the wire limit;
# 8 (issue 14) `check` of job 1's N messages against `fetch` of them into a Maildir, on disk and
# on tmpfs (no disk), interleaved; 9 (issue 16) scale: 10,000 and 100,000 messages of ~2 KB
# (1,000,000 with --scale-1m), each of list, list --headers, --json list --headers, fetch,
# fetch --new (nothing new) and purge --all, with mpop's fetch and purge beside them: wall time,
# peak RSS and their cost per message, the 100k/10k per-message time ratio and issue 16's
# memory targets.
# Every tool uses POP3S (implicit TLS, certificate verified) and USER/PASS (curl: SASL PLAIN,
# it cannot be made to send USER/PASS), SMTP submission with STARTTLS + AUTH PLAIN.
#
# Method: for each tool, one warm-up run (timed here, to choose the run count), then its timed
# runs interleaved with the job's other tools (A B C A B C ...), each a `hyperfine --runs 1` with
# the restoring step as --prepare (outside the timing), under `/usr/bin/time -f '%M %U %S'` for the peak
# RSS (of the largest process of the run). A correctness check follows each tool's last run
# (files delivered, mailbox empty, ...): a failed check marks the row.
#
# Output: the table on stdout; bench/RESULTS.md and the table in README.md's "Performance"
# section (a --quick run or an --only run writes bench/results/RESULTS-quick.md /
# RESULTS-partial.md instead and leaves the README alone; `--only 9` writes bench/RESULTS-scale.md
# and the README's scale table, between <!-- bench-scale:begin/end -->); hyperfine JSON, peak RSS, the
# exact commands and logs under bench/results/<date>/ (not in git).
#
# Needs root: the fixtures run Dovecot's mail processes as uid 8, and the latency set creates a
# network namespace. Everything started here is stopped on exit, by PID; nothing leaves
# loopback and the namespace + veth pair this script creates (and removes).
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
ALL_JOBS="1,2,3,4,5,6,7,8,9"
QUICK=0; RUNS=""; BUDGET=""; ONLY=$ALL_JOBS; KEEP=0; SCALE_1M=${MW_BENCH_SCALE_1M:-0}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1;;
    --runs) RUNS=$2; shift;;
    --budget) BUDGET=$2; shift;;
    --only) ONLY=$2; shift;;
    --keep) KEEP=1;;
    --scale-1m) SCALE_1M=1;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 64;;
  esac
  shift
done
if [ $QUICK = 1 ]; then
  N=1000; BIG=20M; SENDS=20; SUB=50; RUNS=${RUNS:-3}; BUDGET=${BUDGET:-10}
else
  N=10000; BIG=200M; SENDS=200; SUB=200; RUNS=${RUNS:-5}; BUDGET=${BUDGET:-20}
fi
KB=10K
job_on() { case ",$ONLY," in *",$1,"*) return 0;; *) return 1;; esac; }

if [ "$(id -u)" != 0 ]; then
  echo "run.sh: needs root (Dovecot's mail processes run as uid 8; the latency jobs make a network namespace)" >&2
  exit 77
fi
T_START=$(date +%s)

# ------------------------------------------------------------------ install and build
"$ROOT/scripts/install-deps.sh" mpop fetchmail curl hyperfine time msmtp swaks \
  libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl iproute2 openssl safecat
(cd "$ROOT" && cmake --preset release >/dev/null && cmake --build --preset release -j2 --target mailwrench)
MW_BIN=$ROOT/build/release/src/mailwrench
[ -x "$MW_BIN" ] || { echo "run.sh: no $MW_BIN after the build" >&2; exit 70; }
T_BUILT=$(date +%s)
say() { echo "[run.sh +$(( $(date +%s) - T_BUILT ))s] $*"; }

# ------------------------------------------------------------------ work area and clean-up
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RES=$HERE/results/$STAMP$([ $QUICK = 1 ] && echo -quick || true)
mkdir -p "$RES"
WORK=$(mktemp -d /tmp/mwb-XXXXXX)   # short: Dovecot's unix sockets live under it
chmod 755 "$WORK"                    # dovenull, dovecot and mail must be able to enter it
SRV=$WORK/srv
OUT=$WORK/out
mkdir -p "$OUT" "$WORK/home"
NS=""; VETH=""; PROXY_PIDFILE=$WORK/delayproxy.pid; FIXTURE=0; SHM=""

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [ -s "$PROXY_PIDFILE" ]; then
    local pid; pid=$(cat "$PROXY_PIDFILE")
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  [ -n "$VETH" ] && ip link del "$VETH" 2>/dev/null
  [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
  [ -n "$SHM" ] && rm -rf "$SHM"
  if [ $FIXTURE = 1 ]; then
    python3 "$ROOT/tests/integration/postfix_fixture.py" stop "$SRV" >> "$RES/fixture.log" 2>&1
    python3 "$ROOT/tests/integration/dovecot_fixture.py" stop "$SRV" >> "$RES/fixture.log" 2>&1
  fi
  if [ $KEEP = 1 ]; then echo "run.sh: work directory kept: $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ servers
say "starting Dovecot and Postfix under $SRV"
FIXTURE=1
python3 "$ROOT/tests/integration/dovecot_fixture.py" start "$SRV" > "$RES/fixture.log" 2>&1 \
  || { tail -20 "$RES/fixture.log" >&2; exit 1; }
python3 "$ROOT/tests/integration/postfix_fixture.py" start "$SRV" >> "$RES/fixture.log" 2>&1 \
  || { tail -20 "$RES/fixture.log" >&2; exit 1; }
envget() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); [v := v[k] for k in sys.argv[2:]]; print(v)' "$SRV/env.json" "$@"; }
P=$(envget pop3s_port); SMTP_PORT=$(envget smtp_port); CA=$(envget ca)
FP=$(envget server_fingerprint_sha256); SCRATCH_PW=$(envget scratch_users password)
SEND_USER=s01; SEND_PW=$(envget send_users s01 password); RCPT=s02
RCPT_MD=$(envget send_users $RCPT maildir)
A=127.0.0.1
PWF=$WORK/pop3.pw; printf '%s\n' "$SCRATCH_PW" > "$PWF"; chmod 600 "$PWF"
SPWF=$WORK/smtp.pw; printf '%s\n' "$SEND_PW" > "$SPWF"; chmod 600 "$SPWF"

# Scratch users (the fixture lets mw-* log in with the scratch password): U10K holds N messages
# and is only read; UPURGE is restored from a hard-linked template before every destructive run;
# UBIG holds the one big message.
U10K=mw-bench; UPURGE=mw-purge; UBIG=mw-big
mailbox() {  # user -> creates SRV/mail/USER/Maildir owned by uid/gid 8 (as mwtest.Ctx.mailbox)
  local home=$SRV/mail/$1
  for d in "$home" "$home/Maildir" "$home/Maildir/cur" "$home/Maildir/new" "$home/Maildir/tmp"; do
    mkdir -m 700 "$d"; chown 8:8 "$d"
  done
}
md() { echo "$SRV/mail/$1/Maildir"; }
say "filling: $N x $KB, and one message of $BIG"
mailbox $U10K; mailbox $UPURGE; mailbox $UBIG
python3 "$HERE/fill.py" fill "$(md $U10K)" "$N" "$KB"
python3 "$HERE/fill.py" snapshot "$(md $U10K)" "$WORK/template"
python3 "$HERE/fill.py" fill "$(md $UBIG)" 1 "$BIG"
STAT="python3 $HERE/wire.py stat $A $P"
RESTORE="python3 $HERE/fill.py restore $(md $UPURGE) $WORK/template >/dev/null && $STAT $UPURGE $PWF $CA >/dev/null"
eval "$RESTORE"
read -r N_CHECK OCTETS < <($STAT $U10K "$PWF" "$CA")   # also builds Dovecot's index
[ "$N_CHECK" = "$N" ] || { echo "run.sh: STAT says $N_CHECK messages, expected $N" >&2; exit 1; }
read -r _ BIG_OCTETS < <($STAT $UBIG "$PWF" "$CA")
BIG_FILE_SIZE=$(ls "$(md $UBIG)/new" "$(md $UBIG)/cur" | sed -n 's/.*,S=\([0-9]*\).*/\1/p' | head -1)

# ------------------------------------------------------------------ client configurations
export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config XDG_STATE_HOME=$WORK/home/.local/state \
       XDG_CACHE_HOME=$WORK/home/.cache
MW="$MW_BIN --auth user --password-file $PWF -q"
MW0="$MW -H $A -p $P --cacert $CA"
write_mpoprc() {  # file host port tls-line
  cat > "$1" <<EOF
defaults
host $2
port $3
tls on
tls_starttls off
$4
auth user
timeout 900
received_header off
password $SCRATCH_PW
account fetch
user $U10K
uidls_file $WORK/mpop-uidls
delivery maildir $OUT/mpop
account purge
user $UPURGE
uidls_file $WORK/mpop-uidls-purge
delivery maildir $OUT/mpop-purge
account big
user $UBIG
uidls_file $WORK/mpop-uidls-big
delivery maildir $OUT/mpop-big
EOF
  chmod 600 "$1"
}
write_mpoprc "$WORK/mpoprc" "$A" "$P" "tls_trust_file $CA"
mkdir -p "$OUT"/mpop-purge/{cur,new,tmp}   # mpop --killsize=0 aborts without its delivery dir
write_fetchmailrc() {  # file host port maildir
  printf 'set no bouncemail\npoll %s service %s protocol pop3 auth password timeout 900\n  user "%s" there with password "%s" is "root" here\n  ssl sslcertck sslcertfile %s sslcommonname localhost keep fetchall\n  mda "safecat %s/tmp %s/new"\n' \
    "$2" "$3" "$U10K" "$SCRATCH_PW" "$CA" "$4" "$4" > "$1"
  chmod 600 "$1"
  # fetchmail exits 13 when --fetchlimit stops it early: that is success here
  printf '#!/bin/sh\nfetchmail -N -s --nosyslog --pidfile %s/fetchmail.pid -i %s/fetchids -f %s "$@" >/dev/null 2>>%s/fetchmail.log\ns=$?; [ $s = 0 ] || [ $s = 13 ]\n' \
    "$WORK" "$WORK" "$1" "$RES" > "$1.sh"
  chmod 755 "$1.sh"
}
write_fetchmailrc "$WORK/fetchmailrc" "$A" "$P" "$OUT/fetchmail"
CURL="curl -s --cacert $CA --user $U10K:$SCRATCH_PW --login-options AUTH=PLAIN"

# ------------------------------------------------------------------ measuring
ROWS=$RES/rows.tsv
: > "$ROWS"
slug() { echo "$1" | tr -c 'A-Za-z0-9\n' '-' | tr -s '-'; }
median_rss() {  # file count -> median peak RSS (KiB) of the last COUNT runs ("%M %U %S" lines)
  grep -E '^[0-9]+ ' "$1" | tail -n "$2" | awk '{print $1}' | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print ""}'
}
median_cpu() {  # file count -> median CPU time (user + system, s) of the last COUNT runs: what the
  # tool itself spent, which other work on the machine changes far less than the wall time
  grep -E '^[0-9]+ ' "$1" | tail -n "$2" | awk '{printf "%.3f\n", $2 + $3}' | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print ""}'
}
# measure GROUP TOOL NOTE PREPARE COMMAND CHECK — queue a tool for the next run_group.
#   GROUP: job key (f0, p0, ...; tools of several jobs may share a run_group, so that a ratio
#   between jobs is measured interleaved too, as the wire limit is with the fetch); PREPARE runs before every run, outside the timing; CHECK is a
#   shell snippet run right after the tool's last run: it prints one line and fails when the
#   result is wrong ($EXECS: how often COMMAND ran in all, warm-up included).
# run_group measures the queued tools: each one's warm-up run first (timed here, to choose its
#   run count), then the timed runs interleaved, round by round (A B C A B C ...), each one a
#   `hyperfine --runs 1 --prepare PREPARE` under /usr/bin/time, so that a slow spell of this
#   shared machine (its disk above all) hits every tool alike instead of one tool's block.
Q_G=(); Q_TOOL=(); Q_NOTE=(); Q_PREP=(); Q_CMD=(); Q_CHECK=()
measure() { Q_G+=("$1"); Q_TOOL+=("$2"); Q_NOTE+=("$3"); Q_PREP+=("$4"); Q_CMD+=("$5"); Q_CHECK+=("${6:-}"); }
run_group() {
  local g n=${#Q_TOOL[@]} i r maxr=0 t0 t1 tw out base stats
  local -a id status text runs load
  run_check() {  # index execs
    [ -n "${Q_CHECK[$1]}" ] || return 0
    if out=$(EXECS=$2 bash -c "${Q_CHECK[$1]}" 2>&1); then :; else status[$1]=FAILED; fi
    text[$1]=$(printf '%s' "$out" | tr '\n\t' '  ' | cut -c1-300)
  }
  for ((i = 0; i < n; i++)); do
    g=${Q_G[i]}
    id[i]=$(slug "$g-${Q_TOOL[i]}"); status[i]=ok; text[i]=""; runs[i]=0
    load[i]=$(cut -d' ' -f1 /proc/loadavg)
    base=$RES/${id[i]}
    printf '%s\n' "${Q_CMD[i]}" > "$base.cmd"; printf '%s\n' "${Q_PREP[i]}" > "$base.prepare"
    : > "$base.rss"; : > "$base.times"
    if ! bash -c "${Q_PREP[i]}" > "$base.log" 2>&1; then
      status[i]=FAILED; text[i]="prepare failed: $(tail -c 300 "$base.log" | tr '\n\t' '  ')"; continue
    fi
    t0=$(date +%s%N)
    if ! bash -c "/usr/bin/time -f '%M %U %S' -a -o $base.rss.warm ${Q_CMD[i]}" >> "$base.log" 2>&1; then
      status[i]=FAILED; text[i]="warm-up run failed: $(tail -c 300 "$base.log" | tr '\n\t' '  ')"; continue
    fi
    t1=$(date +%s%N)
    tw=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    runs[i]=$(awk -v t="$tw" -v b="$BUDGET" -v r="$RUNS" 'BEGIN {n = int(b / t); if (n > r) n = r; print (t * 2 > b) ? 1 : (n < 2 ? 2 : n)}')
    if [ "${runs[i]}" = 1 ]; then
      say "$g ${Q_TOOL[i]}: warm-up ${tw}s > budget/2: the warm-up run is the measurement"
      echo "$tw" > "$base.times"; cp "$base.rss.warm" "$base.rss"
      run_check "$i" 1
    else
      say "$g ${Q_TOOL[i]}: warm-up ${tw}s; ${runs[i]} runs follow, interleaved with the job's other tools"
      if [ "${runs[i]}" -gt $maxr ]; then maxr=${runs[i]}; fi
    fi
  done
  for ((r = 1; r <= maxr; r++)); do
    for ((i = 0; i < n; i++)); do
      if [ "${status[i]}" != ok ] || [ "${runs[i]}" -lt 2 ] || [ "$r" -gt "${runs[i]}" ]; then continue; fi
      base=$RES/${id[i]}; g=${Q_G[i]}
      if hyperfine --style none --runs 1 --export-json "$base.run$r.json" --prepare "${Q_PREP[i]}" \
           -n "${Q_TOOL[i]}" "/usr/bin/time -f '%M %U %S' -a -o $base.rss ${Q_CMD[i]}" >> "$base.log" 2>&1; then
        python3 -c 'import json,sys; print("%.6f" % json.load(open(sys.argv[1]))["results"][0]["times"][0])' \
          "$base.run$r.json" >> "$base.times"
        say "$g ${Q_TOOL[i]}: run $r/${runs[i]}: $(tail -1 "$base.times" | cut -c1-6) s"
      else
        status[i]=FAILED; text[i]="run $r failed (see $base.log)"; continue
      fi
      if [ "$r" = "${runs[i]}" ]; then run_check "$i" $(( runs[i] + 1 )); fi
    done
  done
  for ((i = 0; i < n; i++)); do
    base=$RES/${id[i]}; stats="		"; g=${Q_G[i]}
    if [ "${status[i]}" = ok ]; then
      stats=$(python3 - "$base.times" "$base.json" "${Q_TOOL[i]}" "${Q_CMD[i]}" <<'EOF'
import json, statistics, sys
times = [float(l) for l in open(sys.argv[1]) if l.strip()]
r = {"command": sys.argv[3], "command_line": sys.argv[4], "times": times,
     "mean": statistics.mean(times), "median": statistics.median(times), "min": min(times), "max": max(times),
     "stddev": statistics.stdev(times) if len(times) > 1 else None,
     "note": "one warm-up run, then single-run hyperfine invocations interleaved with the job's other tools"
             if len(times) > 1 else "single run: the warm-up run"}
json.dump({"results": [r]}, open(sys.argv[2], "w"), indent=1)
print("%.3f\t%.3f\t%.3f" % (r["median"], r["min"], r["max"]))
EOF
)
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$g" "${Q_TOOL[i]}" "${Q_NOTE[i]}" "${runs[i]}" "$stats" \
      "$(median_rss "$base.rss" "${runs[i]}")" "${status[i]}" "${text[i]}" "${load[i]}" \
      "$(median_cpu "$base.rss" "${runs[i]}")" >> "$ROWS"
    say "$g ${Q_TOOL[i]}: ${status[i]} ${text[i]:+(${text[i]})}"
  done
  Q_G=(); Q_TOOL=(); Q_NOTE=(); Q_PREP=(); Q_CMD=(); Q_CHECK=()
}

count_new() { echo "$(ls "$1/new" 2>/dev/null | wc -l) files in $(basename "$1")/new (expected $2)"; [ "$(ls "$1/new" 2>/dev/null | wc -l)" = "$2" ]; }
export -f count_new
CHK_EMPTY="r=\$($STAT $UPURGE $PWF $CA); echo \"STAT after the last run: \$r\"; [ \"\$r\" = '0 0' ]"

# ------------------------------------------------------------------ 1. fetch N into a Maildir
# Before every run: the previous run's output is moved aside, not deleted (on this machine's
# ext4, mounted with discard on a virtual disk, deleting 10,000 files made the next run's fsyncs
# two to three times slower), and `sync` flushes earlier dirty pages outside the timing. The
# trash goes with the work directory at the end.
mkdir -p "$WORK/trash"
printf '#!/bin/sh
for p in "$@"; do [ -e "$p" ] && mv "$p" "%s/trash/$(date +%%s%%N)-${p##*/}"; done
sync
' "$WORK" > "$WORK/aside"
chmod 755 "$WORK/aside"
ASIDE=$WORK/aside
job_fetch() {  # group count-label range-arg netns-prefix mw-conn mpoprc fetchmailrc
  local g=$1 cnt=$2 nsx=$3 mwconn=$4 mpoprc=$5 fmrc=$6
  measure "$g" mailwrench "fetch -o maildir:DIR" "$ASIDE $OUT/mw" \
    "$nsx $mwconn -u $U10K fetch -o maildir:$OUT/mw >/dev/null" "count_new $OUT/mw $cnt"
  measure "$g" mpop "delivery maildir, keep; fsync + link per file" \
    "rm -f $WORK/mpop-uidls && $ASIDE $OUT/mpop && mkdir -p $OUT/mpop/cur $OUT/mpop/new $OUT/mpop/tmp" \
    "$nsx mpop -C $mpoprc -q --keep=on fetch" "count_new $OUT/mpop $cnt"
  [ -n "$fmrc" ] && measure "$g" fetchmail "keep fetchall, mda safecat (sh + safecat per message, fsync per file)" \
    "rm -f $WORK/fetchids && $ASIDE $OUT/fetchmail && mkdir -p $OUT/fetchmail/tmp $OUT/fetchmail/new $OUT/fetchmail/cur" \
    "$nsx $fmrc.sh" "count_new $OUT/fetchmail $cnt"
  return 0
}
if job_on 1; then
  job_fetch f0 "$N" "" "$MW0" "$WORK/mpoprc" "$WORK/fetchmailrc"
  job_on 7 || run_group
fi

# ------------------------------------------------------------------ 7. the wire limit
# Interleaved with job 1 when both run (one run_group), since the target is their ratio.
if job_on 7; then
  python3 "$HERE/wire.py" cmds "$U10K" "$PWF" "$N" > "$WORK/wire-cmds"
  measure w0 "openssl s_client" "USER/PASS + $N RETR pipelined, output to /dev/null" "true" \
    "openssl s_client -connect $A:$P -CAfile $CA -verify_return_error -verify_ip $A -quiet < $WORK/wire-cmds >/dev/null 2>&1" \
    "last=\$(openssl s_client -connect $A:$P -CAfile $CA -verify_return_error -verify_ip $A -quiet < $WORK/wire-cmds 2>/dev/null | tail -c 200 | tr -d '\r' | tail -1); echo \"last reply: \$last\"; case \$last in +OK*) true;; *) false;; esac"
  measure w0 "python ssl" "USER/PASS + $N RETR pipelined, one 256 KB buffer" "true" \
    "python3 $HERE/wire.py retr $A $P $U10K $PWF $CA $N" \
    "r=\$(grep -o 'wire.py: [0-9]* octets' $RES/w0-python-ssl.log | tail -1); echo \"warm-up run: \$r (+OK at the end)\"; [ \"\${r//[^0-9]/}\" -ge $OCTETS ]"
  run_group
fi

# ------------------------------------------------------------------ 8. check N (issue 14)
# `check` downloads every message of job 1's mailbox (pipelined RETR, as fetch) and checks it,
# storing nothing; issue 14 wants it at least as fast as `fetch` of the same mailbox. Both read
# U10K and neither deletes (fetch without --delete, check never), so the mailbox needs no restoring
# between runs: the fetch rows only move their previous Maildir aside first, as job 1 does. The
# target is check / fetch → Maildir on disk (this job's rows, interleaved); the tmpfs row is the
# same fetch with no disk under it, the stricter reading of the issue's "(no disk)".
# Each check run must exit 0 (no message with an `error` finding: hyperfine fails the run
# otherwise); the check after the last run reads its --json document.
if job_on 8; then
  SHM=$(mktemp -d /dev/shm/mwb-XXXXXX)
  measure c0 mailwrench "check --json: RETR all, checked, nothing stored" "true" \
    "$MW0 -u $U10K --json check > $OUT/check.json" \
    "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(\"checked %s, with_errors %s, with_warnings %s (expected checked $N, with_errors 0)\" % (d.get(\"checked\"), d.get(\"with_errors\"), d.get(\"with_warnings\"))); sys.exit(0 if d.get(\"checked\") == $N and d.get(\"with_errors\") == 0 else 1)' $OUT/check.json"
  measure c0 "mailwrench fetch" "fetch -o maildir:DIR on disk (as job 1)" "$ASIDE $OUT/mw-c" \
    "$MW0 -u $U10K fetch -o maildir:$OUT/mw-c >/dev/null" "count_new $OUT/mw-c $N"
  measure c0 "mailwrench fetch, tmpfs" "fetch -o maildir:DIR on /dev/shm (no disk)" "rm -rf $SHM/mw" \
    "$MW0 -u $U10K fetch -o maildir:$SHM/mw >/dev/null" "count_new $SHM/mw $N"
  run_group
fi

# ------------------------------------------------------------------ 2. purge all N
job_purge() {  # group netns-prefix mw-conn mpoprc
  measure "$1" mailwrench "purge --all --yes, -q: no table, so no TOP (as mpop)" "$RESTORE" \
    "$2 $3 -u $UPURGE purge --all --yes >/dev/null" "$CHK_EMPTY"
  measure "$1" mpop "--keep=off --killsize=0 (DELE without RETR)" "$RESTORE" \
    "$2 mpop -C $4 -q --keep=off --killsize=0 purge" "$CHK_EMPTY"
  run_group
}
if job_on 2; then job_purge p0 "" "$MW0" "$WORK/mpoprc"; fi

# ------------------------------------------------------------------ 3. list --headers of N
job_list() {  # group count netns-prefix mw-conn curl-base-url curl-extra tool-list
  local g=$1 cnt=$2 nsx=$3 mwconn=$4 url=$5 cextra=$6 tools=$7 sel=""
  [ "$cnt" != "$N" ] && sel="1-$cnt"
  case " $tools " in *" mailwrench "*)
    measure "$g" mailwrench "pipelined TOP n 0" "true" "$nsx $mwconn -u $U10K list --headers $sel > $OUT/list.txt" \
      "n=\$(wc -l < $OUT/list.txt); echo \"\$n rows\"; [ \$n = $cnt ]";; esac
  case " $tools " in *" curl "*)
    measure "$g" curl "one connection, URL glob, -X TOP: one TOP n 0 per round trip" "true" \
      "$nsx $CURL $cextra '$url/[1-$cnt]%200' -X TOP > $OUT/curl-top.txt" \
      "n=\$(grep -c '^X-Bench-Index:' $OUT/curl-top.txt); echo \"\$n headers\"; [ \$n = $cnt ]";; esac
  run_group
}
if job_on 3; then job_list l0 "$N" "" "$MW0" "pop3s://$A:$P" "" "mailwrench curl"; fi

# ------------------------------------------------------------------ 4. one big message
if job_on 4; then
  measure b0 mailwrench "fetch -o maildir:DIR" "$ASIDE $OUT/mw-big" \
    "$MW0 -u $UBIG fetch -o maildir:$OUT/mw-big >/dev/null" \
    "s=\$(stat -c %s $OUT/mw-big/new/*); echo \"\$s octets stored\"; [ \$s = $BIG_FILE_SIZE ]"
  measure b0 mpop "delivery maildir (fsync + link)" \
    "rm -f $WORK/mpop-uidls-big && $ASIDE $OUT/mpop-big && mkdir -p $OUT/mpop-big/cur $OUT/mpop-big/new $OUT/mpop-big/tmp" \
    "mpop -C $WORK/mpoprc -q --keep=on big" \
    "s=\$(stat -c %s $OUT/mpop-big/new/*); echo \"\$s octets stored\"; [ \$s = $BIG_FILE_SIZE ]"
  measure b0 curl "RETR -o FILE (CRLF kept, no fsync)" "$ASIDE $OUT/curl-big.eml" \
    "curl -s --cacert $CA --user $UBIG:$SCRATCH_PW --login-options AUTH=PLAIN pop3s://$A:$P/1 -o $OUT/curl-big.eml" \
    "s=\$(stat -c %s $OUT/curl-big.eml); echo \"\$s octets stored\"; [ \$s = $BIG_OCTETS ]"
  run_group
fi

# ------------------------------------------------------------------ 6. jobs 1-3 with 20 ms RTT
RTT_NOTE="not measured"; NS_MODE=""
netns_up() {
  local x
  for x in $(seq 200 250); do
    if ! ip -4 -o addr show | grep -q " 10\.213\.$x\." && ! ip -4 route show | grep -q "^10\.213\.$x\."; then break; fi
  done
  NSA=10.213.$x.1; NSB=10.213.$x.2
  NS=mwbench$$; VETH=mwb$$a
  ip netns add "$NS"
  ip link add "$VETH" type veth peer name mwb$$b netns "$NS"
  ip addr add "$NSA/30" dev "$VETH"; ip link set "$VETH" up
  ip -n "$NS" addr add "$NSB/30" dev mwb$$b; ip -n "$NS" link set mwb$$b up; ip -n "$NS" link set lo up
  local pdelay=10
  NS_MODE="userspace delay line (bench/delayproxy.py, 10 ms each way; no sch_netem in this kernel)"
  if tc qdisc add dev "$VETH" root netem delay 10ms 2>/dev/null; then
    if ip netns exec "$NS" tc qdisc add dev mwb$$b root netem delay 10ms 2>/dev/null; then
      pdelay=0; NS_MODE="tc netem 10 ms on both veth ends (bench/delayproxy.py forwards without delay)"
    else
      tc qdisc del dev "$VETH" root 2>/dev/null || true
    fi
  fi
  setsid python3 "$HERE/delayproxy.py" "$NSA" "$P" "$A" "$P" "$pdelay" "$PROXY_PIDFILE" \
    >> "$RES/delayproxy.log" 2>&1 < /dev/null &
  for _ in $(seq 1 100); do [ -s "$PROXY_PIDFILE" ] && break; sleep 0.1; done
  [ -s "$PROXY_PIDFILE" ] || { echo "run.sh: the delay proxy did not start" >&2; cat "$RES/delayproxy.log" >&2; exit 1; }
  RTT_NOTE=$(ip netns exec "$NS" python3 "$HERE/wire.py" rtt "$NSA" "$P" "$U10K" "$PWF" "$CA")
  say "namespace $NS: $NS_MODE; $RTT_NOTE"
}
if job_on 6; then
  netns_up
  NSX="ip netns exec $NS"
  MW20="$MW -H $NSA -p $P --fingerprint $FP"
  write_mpoprc "$WORK/mpoprc-ns" "$NSA" "$P" "tls_fingerprint $FP"
  write_fetchmailrc "$WORK/fetchmailrc-ns" "$NSA" "$P" "$OUT/fetchmail"
  job_fetch f20 "$N" "$NSX" "$MW20" "$WORK/mpoprc-ns" ""
  run_group
  # lock-step clients pay a round trip (fetchmail: two) per message: the first SUB messages only
  measure f20s mailwrench "fetch 1-$SUB" "$ASIDE $OUT/mw" \
    "$NSX $MW20 -u $U10K fetch -o maildir:$OUT/mw 1-$SUB >/dev/null" "count_new $OUT/mw $SUB"
  measure f20s fetchmail "--fetchlimit $SUB, mda safecat; LIST n + RETR n per message" \
    "rm -f $WORK/fetchids && $ASIDE $OUT/fetchmail && mkdir -p $OUT/fetchmail/tmp $OUT/fetchmail/new $OUT/fetchmail/cur" \
    "$NSX $WORK/fetchmailrc-ns.sh --fetchlimit $SUB" "count_new $OUT/fetchmail $SUB"
  run_group
  job_purge p20 "$NSX" "$MW20" "$WORK/mpoprc-ns"
  job_list l20 "$N" "$NSX" "$MW20" "" "" "mailwrench"
  job_list l20s "$SUB" "$NSX" "$MW20" "pop3s://localhost:$P" "--resolve localhost:$P:$NSA" "mailwrench curl"
fi

# ------------------------------------------------------------------ 5. send
if job_on 5; then
  BODY=$WORK/body.txt
  python3 - "$BODY" <<'EOF'
import sys
line = "This is a test message from the mailwrench benchmark; every line is about 76 chars."
open(sys.argv[1], "w").write("Hello,\n\n" + "\n".join(line for _ in range(12)) + "\n\n-- \nbench\n")
EOF
  { printf 'From: %s@lab.test\nTo: %s@lab.test\nSubject: bench msmtp\n\n' "$SEND_USER" "$RCPT"; cat "$BODY"; } > "$WORK/msg.txt"
  cat > "$WORK/msmtprc" <<EOF
defaults
tls on
tls_starttls on
tls_trust_file $CA
timeout 60
account bench
host $A
port $SMTP_PORT
auth plain
user $SEND_USER
password $SEND_PW
from $SEND_USER@lab.test
EOF
  chmod 600 "$WORK/msmtprc"
  loop() {  # file body: a script that runs body SENDS times, stopping at the first failure
    printf '#!/bin/sh\ni=0\nwhile [ $i -lt %s ]; do\n  i=$((i + 1))\n  %s || exit 1\ndone\n' "$SENDS" "$2" > "$1"
    chmod 755 "$1"
  }
  loop "$WORK/send-mw.sh" "$MW_BIN -H $A -p $SMTP_PORT --tls starttls --cacert $CA -u $SEND_USER --auth plain --password-file $SPWF -q send --from $SEND_USER@lab.test --to $RCPT@lab.test --subject \"bench mailwrench \$i\" --body-file $BODY >/dev/null"
  loop "$WORK/send-msmtp.sh" "msmtp -C $WORK/msmtprc -a bench $RCPT@lab.test < $WORK/msg.txt"
  loop "$WORK/send-swaks.sh" "swaks --silent 2 --server $A --port $SMTP_PORT --tls --tls-verify --tls-ca-path $CA --auth PLAIN --auth-user $SEND_USER --auth-password '$SEND_PW' --from $SEND_USER@lab.test --to $RCPT@lab.test --h-Subject \"bench swaks \$i\" --body $BODY >/dev/null"
  # check: Postfix delivered every message of every run into the recipient's Maildir
  delivered() { ls "$RCPT_MD/new" | wc -l; }
  export RCPT_MD SENDS
  CHK_SEND='want=$(( BEFORE + EXECS * SENDS )); for i in $(seq 1 120); do n=$(ls "$RCPT_MD/new" | wc -l); [ "$n" -ge "$want" ] && break; sleep 0.5; done; echo "$(( n - BEFORE )) delivered (expected $(( EXECS * SENDS )))"; [ "$n" = "$want" ]'
  for t in mailwrench msmtp swaks; do
    f=$WORK/send-$([ $t = mailwrench ] && echo mw || echo $t).sh
    export BEFORE=$(delivered)
    case $t in
      mailwrench) note="send, composed from flags";;
      msmtp) note="message from stdin";;
      swaks) note="composed from flags (Perl)";;
    esac
    measure s0 "$t" "$SENDS x one process: $note" "true" "$f" "$CHK_SEND"   # waits for delivery
    run_group   # one tool at a time: the check counts this tool's deliveries
  done
fi

# ------------------------------------------------------------------ 9. scale (issue 16)
# How cost grows with the mailbox: for each size SN (10,000 and 100,000 messages of ~2 KB;
# 1,000,000 with --scale-1m; --quick: 1,000 and 10,000) one read-only mailbox (list, list
# --headers, --json list --headers, fetch, fetch --new) and one purge mailbox restored from a
# hard-linked template before every run (purge --all --yes, and mpop's purge as in job 2), with
# mpop's fetch of the same mailbox as in job 1. `fetch --new` measures the run after a first one
# that filled its state file (that first run is part of the prepare step, once): nothing is new,
# so it costs the UIDL of every message and the state file's load and save. Every command runs
# under `timeout`, so that a stuck run fails its row instead of the bench; at most 3 timed runs
# per tool (the budget rule still lowers that for the slow ones). report.py turns the rows into
# per-message cost (wall / N, peak RSS / N), the per-message time ratio between sizes and issue
# 16's memory targets. Outputs are moved aside, not deleted, as in job 1 (deleting 100,000 files
# slows the next runs' fsyncs); all goes with the work directory at the end (100k: ~1 GB and
# ~600,000 files, whose removal after the report took ~4 minutes on this machine's disk).
if job_on 9; then
  if [ $QUICK = 1 ]; then SCALE_NS="1000 10000"; else SCALE_NS="10000 100000"; fi
  [ "$SCALE_1M" = 1 ] && SCALE_NS="$SCALE_NS 1000000"
  SCALE_KB=2K
  # Three runs of each where they fit in a minute (a single run carries this machine's noise
  # alone: the 100k fetch's one run made its time ratio 1.79 while its CPU time per message
  # stayed that of 10k).
  RUNS_SAVED=$RUNS; RUNS=$(( RUNS < 3 ? RUNS : 3 ))
  BUDGET_SAVED=$BUDGET; BUDGET=$(( BUDGET > 60 ? BUDGET : 60 ))
  : > "$RES/scale.tsv"
  for SN in $SCALE_NS; do
    SR=mw-s$SN; SP=mw-sp$SN; STO=$(( SN >= 1000000 ? 3600 : 900 ))
    say "scale $SN: filling $SN x $SCALE_KB twice (read-only mailbox and purge template)"
    mailbox $SR; mailbox $SP
    python3 "$HERE/fill.py" fill "$(md $SR)" "$SN" "$SCALE_KB"
    python3 "$HERE/fill.py" snapshot "$(md $SR)" "$WORK/stemplate-$SN"
    SRESTORE="python3 $HERE/fill.py restore $(md $SP) $WORK/stemplate-$SN >/dev/null && $STAT $SP $PWF $CA >/dev/null"
    eval "$SRESTORE"
    read -r S_CHECK S_OCTETS < <($STAT $SR "$PWF" "$CA")   # also builds Dovecot's index
    [ "$S_CHECK" = "$SN" ] || { echo "run.sh: STAT of $SR says $S_CHECK messages, expected $SN" >&2; exit 1; }
    printf '%s\t%s\t%s\n' "$SN" "$S_OCTETS" "$SCALE_KB" >> "$RES/scale.tsv"
    cat > "$WORK/mpoprc-s$SN" <<MPOPRC
defaults
host $A
port $P
tls on
tls_starttls off
tls_trust_file $CA
auth user
timeout 900
received_header off
password $SCRATCH_PW
account fetch
user $SR
uidls_file $WORK/mpop-uidls-s$SN
delivery maildir $OUT/s$SN-mpop
account purge
user $SP
uidls_file $WORK/mpop-uidls-sp$SN
delivery maildir $OUT/s$SN-mpop-purge
MPOPRC
    chmod 600 "$WORK/mpoprc-s$SN"
    mkdir -p "$OUT/s$SN-mpop-purge"/{cur,new,tmp}
    TO="timeout $STO"
    SCHK_EMPTY="r=\$($STAT $SP $PWF $CA); echo \"STAT after the last run: \$r\"; [ \"\$r\" = '0 0' ]"
    g=z$SN
    measure "$g" "mailwrench list" "list: LIST + UIDL, one row per message" "true" \
      "$TO $MW0 -u $SR list > $OUT/s$SN-list.txt" \
      "n=\$(wc -l < $OUT/s$SN-list.txt); echo \"\$n rows\"; [ \$n = $SN ]"
    measure "$g" "mailwrench list --headers" "pipelined TOP n 0" "true" \
      "$TO $MW0 -u $SR list --headers > $OUT/s$SN-listh.txt" \
      "n=\$(wc -l < $OUT/s$SN-listh.txt); echo \"\$n rows\"; [ \$n = $SN ]"
    measure "$g" "mailwrench --json list --headers" "one JSON document" "true" \
      "$TO $MW0 -u $SR --json list --headers > $OUT/s$SN-listh.json" \
      "python3 -c 'import json,sys; n=len(json.load(open(sys.argv[1]))[\"messages\"]); print(\"%d messages in the JSON\" % n); sys.exit(n != $SN)' $OUT/s$SN-listh.json"
    measure "$g" "mailwrench fetch" "fetch -o maildir:DIR, all" "$ASIDE $OUT/s$SN-mw" \
      "$TO $MW0 -u $SR fetch -o maildir:$OUT/s$SN-mw >/dev/null" "count_new $OUT/s$SN-mw $SN"
    measure "$g" "mailwrench fetch --new" "nothing new: the state file was filled by one run before (in the prepare step, once)" \
      "[ -e $WORK/s$SN-new.done ] || { $TO $MW0 -u $SR fetch --new --state $WORK/s$SN.uids -o maildir:$OUT/s$SN-new >/dev/null && touch $WORK/s$SN-new.done; }" \
      "$TO $MW0 -u $SR fetch --new --state $WORK/s$SN.uids -o maildir:$OUT/s$SN-new >/dev/null" \
      "count_new $OUT/s$SN-new $SN"
    measure "$g" "mailwrench purge --all" "purge --all --yes, -q, on a restored mailbox" "$SRESTORE" \
      "$TO $MW0 -u $SP purge --all --yes >/dev/null" "$SCHK_EMPTY"
    measure "$g" "mpop fetch" "delivery maildir, keep; fsync + link per file (as job 1)" \
      "rm -f $WORK/mpop-uidls-s$SN && $ASIDE $OUT/s$SN-mpop && mkdir -p $OUT/s$SN-mpop/cur $OUT/s$SN-mpop/new $OUT/s$SN-mpop/tmp" \
      "$TO mpop -C $WORK/mpoprc-s$SN -q --keep=on fetch" "count_new $OUT/s$SN-mpop $SN"
    measure "$g" "mpop purge" "--keep=off --killsize=0 (as job 2), on a restored mailbox" "$SRESTORE" \
      "$TO mpop -C $WORK/mpoprc-s$SN -q --keep=off --killsize=0 purge" "$SCHK_EMPTY"
    run_group
  done
  RUNS=$RUNS_SAVED; BUDGET=$BUDGET_SAVED
  # The --new state of 1,000,000 UIDs (issue 16: loads and saves in < 1 s), at every size set:
  # it needs no server. bench/state_bench.cpp times UidState::load and save() on a file it
  # writes (Dovecot-shaped UIDs), three rounds, under /usr/bin/time for the peak RSS.
  say "scale: the --new state of 1,000,000 UIDs (load and save, three rounds)"
  (cd "$ROOT" && cmake --build --preset release -j2 --target mw_state_bench >/dev/null)
  /usr/bin/time -f '%M' -o "$RES/state.rss" "$ROOT/build/release/mw_state_bench" \
    "$WORK/state-1m.uids" 1000000 > "$RES/state.json"
  rm -f "$WORK/state-1m.uids"
fi

# ------------------------------------------------------------------ report
T_END=$(date +%s)
python3 - "$RES/meta.json" <<EOF
import json, os, platform, re, subprocess, sys
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:
        return f"({e})"
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-").strip()
meta = {
    "date": sh("date -u '+%Y-%m-%d %H:%M UTC'"),
    "quick": $QUICK == 1, "only": "$ONLY", "all_jobs": "$ALL_JOBS", "n": $N, "msg_size": "$KB", "big": "$BIG", "big_octets": ${BIG_OCTETS:-0},
    "octets": ${OCTETS:-0}, "sends": $SENDS, "subset": $SUB, "runs": $RUNS, "budget": $BUDGET,
    "elapsed_s": $T_END - $T_START, "setup_s": $T_BUILT - $T_START,
    "machine": {"nproc": sh("nproc"), "cpu": cpu, "kernel": sh("uname -r"),
                "memory": sh("free -h | awk '/^Mem:/ {print \$2}'"),
                "filesystem": sh("df -T $WORK | awk 'NR==2 {print \$2 \" on \" \$1}'"),
                "load_at_start": "$(cut -d' ' -f1-3 /proc/loadavg)"},
    "versions": {
        "mailwrench": sh("$MW_BIN --version | head -1"),
        "mailwrench_commit": sh("git -C $ROOT rev-parse --short HEAD") + (" (+ uncommitted changes)" if sh("git -C $ROOT status --porcelain -- src") else ""),
        "mpop": sh("mpop --version | head -1 | sed 's/ version//'") + " (" + sh("mpop --version | sed -n 's/^TLS.*library: //p'") + ")",
        "fetchmail": "fetchmail " + (re.findall(r"release ([^+ ]+)", sh("fetchmail -V 2>/dev/null")) or ["?"])[0],
        "curl": sh("curl -V | head -1 | cut -d' ' -f1-2"),
        "msmtp": sh("msmtp --version | head -1 | sed 's/ version//'"),
        "swaks": sh("swaks --version | head -1 | sed 's/ version//'"),
        "openssl": sh("openssl version | cut -d' ' -f1-2"),
        "dovecot": sh("dovecot --version | cut -d' ' -f1"),
        "postfix": sh("postconf -c $SRV/postfix/conf -h mail_version 2>/dev/null || postconf -d -h mail_version"),
        "hyperfine": sh("hyperfine --version"),
        "python": platform.python_version(),
    },
    "netns": {"mode": """$NS_MODE""", "rtt": """$RTT_NOTE"""},
    "scale_1m": "$SCALE_1M" == "1",
    # report.py writes the exact commands with these replaced by short names
    "substitute": [["$MW_BIN", "mailwrench"], ["$HERE/", "bench/"], ["$WORK", "\$W"],
                   ["$SCRATCH_PW", "\$PW"], ["$SEND_PW", "\$SPW"], ["$RES/", "\$R/"]],
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF
if [ $QUICK = 1 ]; then MD=$HERE/results/RESULTS-quick.md
elif [ "$ONLY" = 9 ]; then MD=$HERE/RESULTS-scale.md   # the scale set alone: its own kept report
elif [ "$ONLY" != "$ALL_JOBS" ]; then MD=$HERE/results/RESULTS-partial.md
else MD=$HERE/RESULTS.md; fi
if [ "$MD" = "$HERE/RESULTS.md" ] || [ "$MD" = "$HERE/RESULTS-scale.md" ]; then
  # also the README's Performance tables (a scale-only run: only its scale table)
  python3 "$HERE/report.py" "$RES" "$MD" "$ROOT/README.md"
else
  python3 "$HERE/report.py" "$RES" "$MD"
fi
say "done: $(( T_END - T_BUILT )) s of measuring after $(( T_BUILT - T_START )) s of install + build; results in $RES; table in $MD"
