#!/usr/bin/env bash
# Fuzz every target for a bounded time (libFuzzer through cargo-fuzz, on stable Rust: no
# sanitizer, so no nightly flags are needed). Targets are optimised, with debug assertions and
# overflow checks on, in 16 codegen units (quicker to rebuild after a change to hedge). Corpora
# start from the fixtures and grow in fuzz/corpus/ between runs; a failing input is saved under
# fuzz/artifacts/ and ends the run.
#
#   .ci/fuzz.sh                          # CI: 30 s per target (FUZZ_SECONDS)
#   FUZZ_SECONDS=600 .ci/fuzz.sh         # the longer run: 10 min per target
#   FUZZ_TARGETS="align edits" .ci/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-30}"
targets="${FUZZ_TARGETS:-trace_readers align positions edits lsp_messages}"

if ! cargo fuzz --version 2>/dev/null | grep -q '^cargo-fuzz 0.13.1'; then
  cargo install --locked cargo-fuzz@0.13.1
fi

cd fuzz
cargo fuzz build -s none --codegen-units 16
bin=target/x86_64-unknown-linux-gnu/release

# Seeds: every trace, document and malformed input of the test suite.
mkdir -p corpus/trace_readers
cp -n ../tests/fixtures/traces/*.json* ../tests/fixtures/traces/*.txt ../tests/fixtures/docs/* \
  ../tests/fixtures/malformed/*.json* ../tests/fixtures/malformed/*.txt regressions/trace_readers/* \
  corpus/trace_readers/ 2>/dev/null || true
for t in align positions edits lsp_messages; do
  mkdir -p "corpus/$t"
  cp -n ../tests/fixtures/docs/*.md "corpus/$t/" 2>/dev/null || true
done

mkdir -p artifacts
total=0
for t in $targets; do
  log="artifacts/$t.log"
  # -rss_limit_mb: a reader may not need more than this for inputs up to -max_len.
  if ! "$bin/$t" "corpus/$t" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
      -timeout=20 -artifact_prefix="artifacts/$t-" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $t failed; the input is in fuzz/artifacts/" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  echo "fuzz: $t: $runs executions in ${seconds} s, no failure"
  total=$((total + runs))
done
echo "fuzz: $total executions in all"
