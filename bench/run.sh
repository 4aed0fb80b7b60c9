#!/usr/bin/env bash
# Benchmark: `hedge check --format json` on a 250,000-token trace of a ≈1 MB document, against
# the same per-token formulas scripted in Python/numpy (bench/numpy_baseline.py).
#
#   bench/run.sh                    # K=5 and K=20, 3 timed runs each after 1 warm-up
#   RUNS=5 TOPS="5" bench/run.sh    # more runs, only K=5
#   TOKENS=50000 bench/run.sh       # a smaller trace (written to bench/out/t50000/...)
#   PHASES=1 bench/run.sh           # also time each phase of hedge (bench/phases)
#
# Target (acceptance criterion): hedge ≥ 50× faster than the numpy baseline, and hedge's peak
# RSS ≤ 3× the sidecar's size. Wall time is the median of the timed runs (both include process
# start, reading and parsing the sidecar); peak RSS is the largest maximum resident set size
# over the runs, from GNU time. Everything generated goes to bench/out/ (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-1}
TOPS=${TOPS:-"5 20"}
TOKENS=${TOKENS:-250000}
OUT=bench/out
VENV=.venv-bench
HEDGE=target/release/hedge
mkdir -p "$OUT"

[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }

echo "== build" >&2
cargo build --release --quiet

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import numpy' 2>/dev/null; then
    echo "== creating $VENV with numpy" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet numpy
fi
PY="$VENV/bin/python"

# dir_for K: where the trace with K alternatives lives (the default trace in bench/out itself).
dir_for() {
    local d=$OUT
    [ "$TOKENS" = 250000 ] || d=$d/t$TOKENS
    [ "$1" = 5 ] || d=$d/top$1
    echo "$d"
}

# once LABEL CMD...: one run under GNU time; prints it and appends "WALL_US RSS_KB CPU_S" to
# $OUT/.runs.LABEL.$$ unless WARM=1. Wall time from date(1) in ns around GNU time (which
# adds ~1 ms); peak RSS (%M, KiB) and CPU time (user + system) from GNU time.
once() {
    local label=$1; shift
    local t0 t1 kb cpu log=$OUT/.time.$$ err=$OUT/.stderr.$label.$$
    t0=$(date +%s%N)
    if ! /usr/bin/time -f '%M %U %S' -o "$log" "$@" >/dev/null 2>"$err"; then
        echo "!! $label failed:" >&2
        cat "$err" >&2
        rm -f "$log" "$err"
        exit 1
    fi
    t1=$(date +%s%N)
    kb=$(tail -n1 "$log" | cut -d' ' -f1)
    cpu=$(tail -n1 "$log" | awk '{printf "%.2f", $2 + $3}')
    rm -f "$log"
    if [ "${WARM:-0}" = 1 ]; then
        printf '   %-6s warm-up: %8.3f s  %8.1f MiB  (CPU %s s)\n' "$label" "$(echo "($t1 - $t0) / 10^9" | bc -l)" "$(echo "$kb / 1024" | bc -l)" "$cpu" >&2
    else
        echo "$(((t1 - t0) / 1000)) $kb $cpu" >>"$OUT/.runs.$label.$$"
        printf '   %-6s run %d:   %8.3f s  %8.1f MiB  (CPU %s s)\n' "$label" "$(wc -l <"$OUT/.runs.$label.$$")" "$(echo "($t1 - $t0) / 10^9" | bc -l)" "$(echo "$kb / 1024" | bc -l)" "$cpu" >&2
    fi
}

# stats LABEL: sets MED_S (median wall seconds), MAX_KB (largest peak RSS) and MED_CPU (median
# CPU seconds) of LABEL's runs.
stats() {
    local f=$OUT/.runs.$1.$$
    MED_S=$(cut -d' ' -f1 "$f" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.3f", m / 1e6}')
    MAX_KB=$(cut -d' ' -f2 "$f" | sort -n | tail -n1)
    MED_CPU=$(cut -d' ' -f3 "$f" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.2f", m}')
    rm -f "$f"
}

ROWS=()
CHECKS=()
for K in $TOPS; do
    D=$(dir_for "$K")
    DOC=$D/doc.md
    SIDE=$DOC.logprobs.json
    if [ ! -s "$SIDE" ] || [ bench/make_trace.py -nt "$SIDE" ]; then
        echo "== generating $SIDE (K=$K)" >&2
        python3 bench/make_trace.py --top "$K" --tokens "$TOKENS" --out "$D" >&2
    fi
    SIDE_B=$(stat -c %s "$SIDE")
    DOC_B=$(stat -c %s "$DOC")
    NTOK=$(grep -o '"completion_tokens":[0-9]*' "$SIDE" | tail -n1 | cut -d: -f2)
    # hedge refuses traces over 512 MiB unless told; keep the limit above the sidecar.
    MAXB=$((SIDE_B > 536870912 ? SIDE_B + 1 : 536870912))

    echo "== K=$K: $NTOK tokens, document $DOC_B B, sidecar $SIDE_B B" >&2
    # hedge and the baseline alternate, so that a change in the machine's load hits both.
    HEDGE_CMD=("$HEDGE" check --format json --fail-on never --max-trace-bytes "$MAXB" "$DOC")
    NUMPY_CMD=("$PY" bench/numpy_baseline.py "$SIDE" -o "$D/numpy_result.json")
    for ((i = 0; i < WARMUP; i++)); do
        WARM=1 once hedge "${HEDGE_CMD[@]}"
        WARM=1 once numpy "${NUMPY_CMD[@]}"
    done
    for ((i = 0; i < RUNS; i++)); do
        once hedge "${HEDGE_CMD[@]}"
        once numpy "${NUMPY_CMD[@]}"
    done
    sed 's/^/   /' "$OUT/.stderr.numpy.$$" >&2
    rm -f "$OUT"/.stderr.*.$$
    stats hedge; H_S=$MED_S H_KB=$MAX_KB H_CPU=$MED_CPU
    stats numpy; N_S=$MED_S N_KB=$MAX_KB N_CPU=$MED_CPU

    if [ "${PHASES:-0}" = 1 ]; then
        echo "   phases of one hedge run (bench/phases, hedge's library API step by step):" >&2
        CARGO_TARGET_DIR="$ROOT/$OUT/phases-target" cargo build --release --quiet \
            --manifest-path bench/phases/Cargo.toml
        "$OUT/phases-target/release/hedge-bench-phases" "$DOC" 2>&1 | sed 's/^/     /' >&2
    fi

    # Untimed: save hedge's JSON and compare its summary with the baseline's figures.
    "$HEDGE" check --format json --fail-on never --max-trace-bytes "$MAXB" "$DOC" >"$D/hedge_result.json"
    CHECKS+=("$("$PY" - "$D/hedge_result.json" "$D/numpy_result.json" "$K" <<'EOF'
import json, math, sys
h = json.load(open(sys.argv[1]))["files"][0]["summary"]
n = json.load(open(sys.argv[2]))
pairs = [("joint_logprob", h["joint_logprob"], n["joint_logprob"]),
         ("perplexity", h["perplexity"], n["perplexity"]),
         ("mean_surprisal_bits", h["mean_surprisal_bits"], n["mean_surprisal_bits"]),
         ("mean_entropy_low", h["mean_entropy_bits"]["low"], n["mean_entropy_bits"]["low"]),
         ("mean_entropy_high", h["mean_entropy_bits"]["high"], n["mean_entropy_bits"]["high"])]
worst = max(abs(a - b) / max(abs(b), 1e-300) for _, a, b in pairs)
ok = h["tokens"] == n["tokens"] and worst < 1e-9
print(f"K={sys.argv[3]}: {'agree' if ok else 'DISAGREE'} (tokens {h['tokens']} vs {n['tokens']}, "
      f"aligned {h['aligned_tokens']}, vocab {h['vocab_size']}, max rel. diff {worst:.1e}: "
      + ", ".join(f"{k} {a:.10g}/{b:.10g}" for k, a, b in pairs) + ")")
EOF
)")

    ROWS+=("$(awk -v k="$K" -v n="$NTOK" -v hs="$H_S" -v hk="$H_KB" -v ns="$N_S" -v nk="$N_KB" -v sb="$SIDE_B" -v hc="$H_CPU" -v nc="$N_CPU" 'BEGIN {
        sm = sb / 1048576
        printf "| hedge check --format json | %d | %d | %.3f | %.1f | %.1f | %.2f | %.1f× | %.2f | %.1f× |\n", k, n, hs, hk / 1024, sm, hk * 1024 / sb, ns / hs, hc, nc / hc
        printf "| python json + numpy | %d | %d | %.3f | %.1f | %.1f | %.2f | 1× | %.2f | 1× |", k, n, ns, nk / 1024, sm, nk * 1024 / sb, nc
    }')")
done

echo
echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Versions: $(rustc --version), Python $("$PY" -c 'import sys, numpy; print(sys.version.split()[0], "numpy", numpy.__version__)')"
echo "Runs: $RUNS timed per tool, hedge and numpy alternating, after $WARMUP warm-up each (median wall time, max peak RSS)"
echo
echo "| tool | K | tokens | wall time (s) | peak RSS (MiB) | sidecar (MiB) | RSS/sidecar | speed ratio (wall) | CPU time (s) | speed ratio (CPU) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "Targets: speed ratio ≥ 50×, hedge RSS/sidecar ≤ 3. (CPU time = user + system, median; less"
echo "sensitive than wall time to other load on the machine. hedge reads a large trace and finds spans on two threads, so its CPU time can exceed its wall time; numpy runs on one.)"
echo "Cross-check of hedge's summary against the baseline:"
printf '  %s\n' "${CHECKS[@]}"
