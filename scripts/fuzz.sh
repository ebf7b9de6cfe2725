#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the libFuzzer targets (the "fuzz" preset: clang, ASan + UBSan) and run each for a while.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 300; the targets default to all of them (see tests/fuzz/).
# Each target runs on a copy of its seed corpus in build/fuzz/fuzz-work/TARGET/corpus (the
# repository's tests/fuzz/corpus is only read; what a run finds stays for the next run), with
# -max_len=65536 -timeout=10 -rss_limit_mb=2048. FUZZ_JOBS=N runs N targets at once (default 1).
#
# Exits 1 when any target crashed, leaked, hung or ran out of memory, after printing the input
# that reproduces it; `build/fuzz/tests/fuzz/fuzz_TARGET FILE` replays it. Needs clang-14 and
# libclang-rt-14-dev (libFuzzer and the sanitizer runtimes).
set -euo pipefail
cd "$(dirname "$0")/.."

all=(pop3_reply smtp_reply headers date selection config scram address mbox preview import_state host_port)
seconds=${1:-300}
[ $# -gt 0 ] && shift
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: SECONDS_PER_TARGET must be a positive whole number, not '$seconds'" >&2
  exit 64
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  if [[ ! " ${all[*]} " =~ " $t " ]]; then
    echo "fuzz.sh: no fuzz target '$t' (there are: ${all[*]})" >&2
    exit 64
  fi
done
jobs=${FUZZ_JOBS:-1}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

bin=build/fuzz/tests/fuzz
work=build/fuzz/fuzz-work

# Runs one target; writes "ok EXECS" or "failed FILE" to its result file.
run_one() {
  local t=$1
  local dir=$work/$t
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
  rm -f "$dir/result"
  local status=0
  "$bin/fuzz_$t" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -max_total_time="$seconds" \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1 ||
    status=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
  if [ "$status" -eq 0 ]; then
    echo "ok ${execs:-0}" >"$dir/result"
  else
    local file
    file=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$dir/log" | tail -n 1)
    echo "failed ${file:-"(no input written; see $dir/log)"}" >"$dir/result"
  fi
}

echo "fuzz.sh: ${#targets[@]} target(s), ${seconds}s each, $jobs at a time"
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
wait || true

failed=0
total=0
for t in "${targets[@]}"; do
  dir=$work/$t
  read -r outcome detail <"$dir/result" || { outcome=failed; detail="(no result; see $dir/log)"; }
  corpus=$(find "$dir/corpus" -type f | wc -l)
  if [ "$outcome" = ok ]; then
    total=$((total + detail))
    printf 'fuzz.sh: %-10s ok: %s executions, corpus %s inputs\n' "$t" "$detail" "$corpus"
  else
    failed=1
    printf 'fuzz.sh: %-10s FAILED: %s\n' "$t" "$detail"
    grep -m 3 -E 'ERROR: |fuzz invariant violated|SUMMARY: ' "$dir/log" | sed 's/^/    /' || true
    echo "    replay: $bin/fuzz_$t $detail    (log: $dir/log)"
  fi
done
echo "fuzz.sh: $total executions in all"
exit $failed
