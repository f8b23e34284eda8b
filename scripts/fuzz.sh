#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, with AddressSanitizer) of every input Paddock parses from
# outside: a client connection's bytes into the kernel, the quorum stream, txn logs, snapshots
# (plain and gz) and zoo.cfg.
#
#   scripts/fuzz.sh [seconds per target] [target...]     default: 60 s, every target
#
# Each target starts from its committed seed corpus (Tests/Fuzz/Corpus/<target>) plus what
# earlier runs here found (.fuzz/corpus/<target>); a crash leaves its input in .fuzz/crashes/ and
# fails the script. Make a found crash a regression test by adding the input to the target's
# Corpus folder once fixed: the test suite replays every corpus file (test_fuzz_corpus.py).
# The CI run is short (scripts/test.sh); a long run is e.g. `scripts/fuzz.sh 3600`.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(client-stream quorum-stream txn-log snapshot snapshot-gz config)

swift build --scratch-path .build-fuzz --product paddock-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -v "Cannot export local symbol" || true
BIN=.build-fuzz/debug/paddock-fuzz
[ -x "$BIN" ] || { echo "fuzz build failed" >&2; exit 1; }

mkdir -p .fuzz/crashes
status=0
for target in "${TARGETS[@]}"; do
  mkdir -p ".fuzz/corpus/$target"
  log=".fuzz/$target.log"
  if PADDOCK_FUZZ_TARGET=$target "$BIN" ".fuzz/corpus/$target" "Tests/Fuzz/Corpus/$target" \
      -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix=".fuzz/crashes/$target-" > "$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "FUZZ target=$target seconds=$SECONDS_PER_TARGET executions=${runs:-?} crashes=0"
  else
    echo "FUZZ target=$target seconds=$SECONDS_PER_TARGET crashed: see $log and .fuzz/crashes/" >&2
    grep -E "Fatal error|ERROR:|SUMMARY" "$log" | head -5 >&2 || true
    status=1
  fi
done
exit $status
