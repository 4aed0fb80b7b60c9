#!/usr/bin/env bash
# Run tests/editors/nvim_smoke.lua in real headless Neovim against the real server.
#   HEDGE_BIN=target/debug/hedge tests/editors/run_nvim.sh [path/to/nvim]
# Prints the smoke test's JSON line; exit status 0 when every check passed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
nvim="${1:-nvim}"
: "${HEDGE_BIN:?set HEDGE_BIN to the hedge binary (e.g. target/debug/hedge)}"
command -v "$nvim" >/dev/null || { echo "run_nvim.sh: $nvim not found" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Keep Neovim's and hedge's state (lsp.log, dismissals) out of the user's home.
export HEDGE_REPO="$repo" HEDGE_STATE_DIR="$tmp/hedge-state" TMPDIR="$tmp"
export XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config"
timeout 120 "$nvim" --headless --clean -u NONE -i NONE -c "luafile $here/nvim_smoke.lua"
