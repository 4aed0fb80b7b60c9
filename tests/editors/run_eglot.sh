#!/usr/bin/env bash
# Run tests/editors/eglot_smoke.el in real batch Emacs + Eglot against the real server.
#   HEDGE_BIN=target/debug/hedge tests/editors/run_eglot.sh [path/to/emacs]
# Prints the smoke test's JSON line; exit status 0 when every check passed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
emacs="${1:-emacs}"
: "${HEDGE_BIN:?set HEDGE_BIN to the hedge binary (e.g. target/debug/hedge)}"
command -v "$emacs" >/dev/null || { echo "run_eglot.sh: $emacs not found" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Keep Emacs's and hedge's state out of the user's home; no init file is read in --batch.
export HEDGE_REPO="$repo" HEDGE_STATE_DIR="$tmp/hedge-state" TMPDIR="$tmp" HOME="$tmp/home"
mkdir -p "$HOME"
# No -Q: Debian's site-start puts the elpa packages (eglot, markdown-mode) on the load-path.
timeout 120 "$emacs" --batch -l "$here/eglot_smoke.el"
