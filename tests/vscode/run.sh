#!/usr/bin/env bash
# End-to-end test of editors/vscode in real VS Code: code-server 4.100.3 (VS Code 1.100.3, web)
# served on 127.0.0.1, Debian Chromium driven headless by playwright-core. Packages the
# extension to a .vsix with @vscode/vsce, installs it with --install-extension (next to the
# test-only driver extension in tests/vscode/driver), opens the shipped example and
# tests/fixtures/docs/curie.md with their sidecars, and checks diagnostics, hover, heatmap
# tokens, the commands and the status bar (drive.js). Nothing leaves the machine.
#
#   HEDGE_BIN=target/debug/hedge tests/vscode/run.sh
#
# Screenshots and the .vsix go to $HEDGE_E2E_OUT (default target/vscode-e2e).
# Exit status: 0 passed; 77 something is not installed (run tests/vscode/install.sh); else failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
CACHE="${HEDGE_VSCODE_CACHE:-$HOME/.cache/hedge-vscode}"
CS="$CACHE/code-server-4.100.3/package"
PW="$CACHE/playwright-1.65.1/node_modules/playwright-core"
CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
HEDGE_BIN="${HEDGE_BIN:-$repo/target/debug/hedge}"
OUT="${HEDGE_E2E_OUT:-$repo/target/vscode-e2e}"
ext="$repo/editors/vscode"
vsce="$ext/node_modules/.bin/vsce"
t_start=$(date +%s)

missing=()
command -v node >/dev/null || missing+=("node")
[ -f "$CACHE/code-server-4.100.3/.installed" ] || missing+=("code-server 4.100.3 in $CS")
[ -f "$PW/package.json" ] || missing+=("playwright-core in $PW")
[ -n "$CHROMIUM" ] && [ -x "$CHROMIUM" ] || missing+=("chromium (Debian package)")
[ -x "$vsce" ] && [ -d "$ext/node_modules/vscode-languageclient" ] || missing+=("editors/vscode/node_modules (npm ci)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'run.sh: not installed: %s\n' "${missing[@]}" >&2
  echo "run.sh: run tests/vscode/install.sh first" >&2
  exit 77
fi
[ -x "$HEDGE_BIN" ] || { echo "run.sh: no hedge binary at $HEDGE_BIN (set HEDGE_BIN)" >&2; exit 2; }
HEDGE_BIN="$(cd "$(dirname "$HEDGE_BIN")" && pwd)/$(basename "$HEDGE_BIN")"

work="$(mktemp -d "${TMPDIR:-/tmp}/hedge-vscode-e2e.XXXXXX")"
cs_pid=
cleanup() {
  if [ -n "$cs_pid" ]; then
    # code-server runs in its own process group (setsid): end it with its extension host,
    # file watcher and the hedge server it started.
    kill -TERM -- "-$cs_pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 -- "-$cs_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$cs_pid" 2>/dev/null || true
    wait "$cs_pid" 2>/dev/null || true
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM
rm -rf "$OUT"
mkdir -p "$OUT"
mkdir -p "$work/ext" "$work/data/User" "$work/ws" "$work/e2e" "$work/state" "$work/home"
# code-server and VS Code write to $HOME and XDG dirs: keep them in the scratch folder.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" \
  XDG_CACHE_HOME="$work/home/.cache"

# 1. Package the extension (and the test driver) with vsce; no binary may end up inside.
(cd "$ext" && "$vsce" package --allow-missing-repository --out "$work/hedge.vsix") > "$work/vsce.log" 2>&1 \
  || { cat "$work/vsce.log"; exit 1; }
(cd "$here/driver" && "$vsce" package --no-dependencies --allow-missing-repository --skip-license \
  --out "$work/driver.vsix") >> "$work/vsce.log" 2>&1 || { cat "$work/vsce.log"; exit 1; }
python3 - "$work/hedge.vsix" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
bad = [n for n in names
       if n.endswith(('.node', '.exe', '.dll', '.so', '.dylib', '.wasm')) or z.read(n)[:4] == b'\x7fELF']
need = ['extension/package.json', 'extension/extension.js',
        'extension/node_modules/vscode-languageclient/package.json']
assert not bad, f'binaries in the .vsix: {bad}'
assert all(n in names for n in need), f'missing from the .vsix: {set(need) - set(names)}'
size = sum(i.file_size for i in z.infolist())
print(f'packaged hedge.vsix: {len(names)} files, {size // 1024} KiB unpacked, no binaries')
EOF
cp "$work/hedge.vsix" "$OUT/hedge.vsix"

# 2. Settings. hedge.serverPath is machine-scoped, so in code-server (always a remote window)
#    it lives in the remote machine's settings; the user settings make a quiet workbench.
mkdir -p "$work/data/Machine"
node -e 'require("fs").writeFileSync(process.argv[2], JSON.stringify({"hedge.serverPath": process.argv[1]}, null, 2))' \
  "$HEDGE_BIN" "$work/data/Machine/settings.json"
node -e '
const s = {
  "workbench.colorTheme": "Default Dark Modern",
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "chat.commandCenter.enabled": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "extensions.ignoreRecommendations": true,
  "security.workspace.trust.enabled": false,
  "git.enabled": false,
  "editor.minimap.enabled": false,
  "editor.fontSize": 15,
  "editor.wordWrap": "on",
  "editor.hover.delay": 100,
};
require("fs").writeFileSync(process.argv[1], JSON.stringify(s, null, 2));
' "$work/data/User/settings.json"

# 3. Install both .vsix files the way a user would.
cs() { node "$CS/out/node/entry.js" --config "$work/config.yaml" --user-data-dir "$work/data" \
  --extensions-dir "$work/ext" "$@"; }
cs --install-extension "$work/hedge.vsix" --install-extension "$work/driver.vsix" > "$work/install.log" 2>&1 \
  || { cat "$work/install.log"; exit 1; }
grep -q "hedge.hedge" <(cs --list-extensions 2>/dev/null) || { echo "run.sh: hedge.hedge not installed"; cat "$work/install.log"; exit 1; }

# 4. The workspace: the shipped example and curie.md, each with its sidecar, and a saved API
#    response (.json) and chat log (.jsonl) that carry their own logprobs. The CLI's findings
#    are what the editor must show.
cp "$repo/examples/literature-review.md" "$repo/examples/literature-review.md.logprobs.json" "$work/ws/"
cp "$repo/tests/fixtures/docs/curie.md" "$repo/tests/fixtures/docs/curie.md.logprobs.json" "$work/ws/"
cp "$repo/tests/fixtures/docs/response.json" "$repo/tests/fixtures/docs/chat-log.jsonl" "$work/ws/"
for f in literature-review.md response.json chat-log.jsonl; do
  "$HEDGE_BIN" check --format json --no-config "$work/ws/$f" > "$work/e2e/expected-$f.json" \
    || [ $? -eq 1 ] # 1: there are findings
done

# 5. Serve on loopback (gallery pointed at a closed local port, no telemetry/update checks).
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
HEDGE_E2E_DIR="$work/e2e" HEDGE_STATE_DIR="$work/state" \
EXTENSIONS_GALLERY='{"serviceUrl":"http://127.0.0.1:9/gallery","itemUrl":"http://127.0.0.1:9/item"}' \
  setsid node "$CS/out/node/entry.js" --config "$work/config.yaml" --user-data-dir "$work/data" \
  --extensions-dir "$work/ext" --bind-addr "127.0.0.1:$port" --auth none --disable-telemetry \
  --disable-update-check --disable-workspace-trust --disable-getting-started-override "$work/ws" \
  > "$work/server.log" 2>&1 &
cs_pid=$!
for _ in $(seq 100); do
  (exec 3<> "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$cs_pid" 2>/dev/null || { echo "run.sh: code-server exited"; cat "$work/server.log"; exit 1; }
  sleep 0.2
done

# 6. Drive the workbench; drive.js asserts.
status=0
HEDGE_E2E_DIR="$work/e2e" SHOT_DIR="$OUT" PLAYWRIGHT_CORE="$PW" CHROMIUM="$CHROMIUM" PORT="$port" \
  WS="$work/ws" node "$here/drive.js" || status=$?
cp "$work/e2e/result.json" "$OUT/result.json" 2>/dev/null || true
if [ $status -ne 0 ]; then
  echo "--- driver log"; cat "$work/e2e/driver.log" 2>/dev/null || true
  echo "--- code-server log (tail)"; tail -n 40 "$work/server.log"
  find "$work/data/logs" -name '*.log' \( -name 'exthost*' -o -name '*Hedge*' \) -exec tail -n 40 {} + 2>/dev/null || true
fi
echo "screenshots: $OUT/screenshot.png (squiggles; also hover.png, token-table.png, heatmap-dark.png, heatmap-light.png, missing-server.png, no-server.png)"
echo "run.sh: $( [ $status -eq 0 ] && echo passed || echo FAILED ) in $(( $(date +%s) - t_start )) s"
exit $status
