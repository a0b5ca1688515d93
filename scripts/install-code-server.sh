#!/usr/bin/env bash
# Install code-server (the real VS Code workbench + Node extension host, from the npm registry) for the
# end-to-end tests and scripts/open-vscode.sh. Works offline apart from the npm registry: code-server's own
# postinstall downloads ripgrep and argon2 from GitHub, so its steps are done by hand here (see
# shared/E2E.md). Idempotent: a marker file records a complete install and the script then does nothing.
#
# Needs (apt, as root): build-essential python3 libkrb5-dev ripgrep   (chromium only for driving it)
# Env:  VITLENS_CACHE    cache root (default ~/.cache/vit-lens)
#       CODE_SERVER_VERSION  (default 4.100.3: the newest release whose engines.node allows Node 20)
# Prints the install folder (the one holding node_modules/code-server) as the last line of stdout.
set -euo pipefail

VERSION="${CODE_SERVER_VERSION:-4.100.3}"
CACHE="${VITLENS_CACHE:-$HOME/.cache/vit-lens}"
DEST="$CACHE/code-server-$VERSION"
MARKER="$DEST/.vit-lens-install-complete"
ENTRY="$DEST/node_modules/code-server/out/node/entry.js"

log() { echo "[install-code-server] $*" >&2; }

if [[ -f "$MARKER" && -f "$ENTRY" ]]; then
  log "code-server $VERSION already installed"
  echo "$DEST"
  exit 0
fi

for tool in node npm make g++ python3; do
  command -v "$tool" >/dev/null || { log "missing '$tool' (apt-get install build-essential python3 nodejs)"; exit 1; }
done
RG="$(command -v rg || true)"
[[ -n "$RG" ]] || { log "missing ripgrep (apt-get install ripgrep)"; exit 1; }
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$NODE_MAJOR" == 20 ]] || log "warning: code-server $VERSION expects Node 20, found $(node -v)"

# node-gyp: use the local Node headers (/usr/include/node) instead of downloading them.
if [[ -z "${npm_config_nodedir:-}" ]]; then
  for d in /usr /usr/local "$(dirname "$(dirname "$(command -v node)")")"; do
    if [[ -f "$d/include/node/node_api.h" ]]; then export npm_config_nodedir="$d"; break; fi
  done
fi
log "node-gyp headers: ${npm_config_nodedir:-<download>}"
export npm_config_yes=true npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
# Never let the project's own npmrc / lockfile interfere: run everything in the scratch folder.
unset npm_config_prefix npm_config_global || true

start=$SECONDS
rm -rf "$DEST"
mkdir -p "$DEST"
cd "$DEST"
echo '{"name":"vit-lens-code-server","private":true}' > package.json

log "1/5 npm install code-server@$VERSION --ignore-scripts"
npm install --no-save --ignore-scripts --loglevel=error "code-server@$VERSION" >&2

log "2/5 rebuild argon2 from source"
npm rebuild argon2 --build-from-source --loglevel=error >&2

VS="$DEST/node_modules/code-server/lib/vscode"
log "3/5 lib/vscode dependencies"
(
  cd "$VS"
  npm install --omit=dev --ignore-scripts --loglevel=error >&2
  # @vscode/ripgrep's postinstall downloads rg from GitHub; it exits early when bin/ exists.
  mkdir -p node_modules/@vscode/ripgrep/bin
  ln -sfn "$RG" node_modules/@vscode/ripgrep/bin/rg
  log "4/5 native rebuild (node-pty, spdlog, kerberos, watcher, ...)"
  npm rebuild --loglevel=error >&2
  ln -sfn node_modules node_modules.asar
  ln -sfn code-linux.sh bin/remote-cli/code-server
  ln -sfn browser-linux.sh bin/helpers/browser.sh
)
log "5/5 built-in extensions' dependencies"
(cd "$VS/extensions" && npm install --omit=dev --loglevel=error >&2)

# Smoke test (config/data dirs redirected: code-server writes a default config under ~ otherwise).
tmp="$(mktemp -d)"
XDG_CONFIG_HOME="$tmp" XDG_DATA_HOME="$tmp" XDG_CACHE_HOME="$tmp" node "$ENTRY" --version >&2
rm -rf "$tmp"
date -u +%FT%TZ > "$MARKER"
log "done in $((SECONDS - start)) s: $DEST"
echo "$DEST"
