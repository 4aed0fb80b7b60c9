#!/usr/bin/env bash
# Install what the VS Code end-to-end test (tests/vscode/run.sh) needs, offline-capable after
# this: Debian Chromium (apt), code-server 4.100.3 = VS Code 1.100.3 (npm; the last release
# whose engines.node is 20), playwright-core (npm), and the extension's own node_modules
# (vscode-languageclient + @vscode/vsce, from editors/vscode/package-lock.json).
# Idempotent: finished steps are skipped. Needs root for apt (or the packages already present).
#   HEDGE_VSCODE_CACHE  where code-server and playwright-core go (default ~/.cache/hedge-vscode)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
CACHE="${HEDGE_VSCODE_CACHE:-$HOME/.cache/hedge-vscode}"
mkdir -p "$CACHE"
# One install at a time (a second waits for the first, then finds everything done).
exec 9> "$CACHE/.install.lock"
flock 9
CS_VERSION=4.100.3
PLAYWRIGHT_VERSION=1.65.1
npm_q=(--no-audit --no-fund --loglevel=error)

# 1. Debian packages: chromium (the browser), ripgrep (stands in for @vscode/ripgrep, whose
#    postinstall downloads from GitHub), libkrb5-dev g++ make (to rebuild native modules).
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v rg >/dev/null || need+=(ripgrep)
for p in libkrb5-dev g++ make; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "install.sh: apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need[@]}" >/dev/null \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; }
fi

# 2. code-server, installed without its download-from-GitHub postinstall steps.
cs="$CACHE/code-server-$CS_VERSION"
if [ ! -f "$cs/.installed" ]; then
  echo "install.sh: code-server $CS_VERSION into $cs"
  rm -rf "$cs"
  mkdir -p "$cs"
  cd "$cs"
  npm pack "code-server@$CS_VERSION" "${npm_q[@]}" >/dev/null
  tar xzf "code-server-$CS_VERSION.tgz"
  rm "code-server-$CS_VERSION.tgz"
  cd package
  export npm_config_nodedir=/usr   # local node headers: no header download
  npm install --omit=dev --ignore-scripts "${npm_q[@]}" >/dev/null
  npm_config_build_from_source=true npm rebuild argon2 "${npm_q[@]}" >/dev/null
  cd lib/vscode
  npm install --omit=dev --ignore-scripts "${npm_q[@]}" >/dev/null
  # node-pty's compile_commands step fails harmlessly, hence `|| true`.
  npm rebuild kerberos native-watchdog node-pty @parcel/watcher @vscode/deviceid @vscode/spdlog \
    "${npm_q[@]}" >/dev/null 2>&1 || true
  mkdir -p node_modules/@vscode/ripgrep/bin
  ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  ln -sfn node_modules node_modules.asar
  (cd bin/remote-cli && ln -sf code-linux.sh code-server)
  (cd bin/helpers && ln -sf browser-linux.sh browser.sh)
  (cd extensions && npm install --omit=dev --ignore-scripts "${npm_q[@]}" >/dev/null && node ./postinstall.mjs >/dev/null)
  # (--config: code-server would otherwise write ~/.config/code-server/config.yaml)
  v="$(node "$cs/package/out/node/entry.js" --config "$cs/config.yaml" --version 2>/dev/null | tail -1)"
  case "$v" in "$CS_VERSION "*) ;; *) echo "install.sh: unexpected code-server version: $v" >&2; exit 1 ;; esac
  touch "$cs/.installed"
fi

# 3. playwright-core (drives Debian's chromium; no browser download).
pw="$CACHE/playwright-$PLAYWRIGHT_VERSION"
if [ ! -f "$pw/node_modules/playwright-core/package.json" ]; then
  echo "install.sh: playwright-core $PLAYWRIGHT_VERSION into $pw"
  mkdir -p "$pw"
  cd "$pw"
  [ -f package.json ] || echo '{"private":true}' > package.json
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install "playwright-core@$PLAYWRIGHT_VERSION" "${npm_q[@]}" >/dev/null
fi

# 4. The extension's dependencies, exactly as locked (vscode-languageclient, @vscode/vsce). No
#    install scripts: none is needed to package, and keytar's would download from GitHub.
ext="$repo/editors/vscode"
if ! cmp -s "$ext/package-lock.json" "$ext/node_modules/.package-lock.json.installed" 2>/dev/null; then
  echo "install.sh: npm ci in editors/vscode"
  (cd "$ext" && npm ci --ignore-scripts "${npm_q[@]}" >/dev/null && cp package-lock.json node_modules/.package-lock.json.installed)
fi
echo "install.sh: ready (code-server $cs/package, playwright-core $pw)"
