#!/usr/bin/env bash
# Build and package ViT Lens, then open it in VS Code with a demo folder of photos.
#   - desktop VS Code (a `code` CLI and a display, or macOS): installs dist/vit-lens.vsix and opens the folder;
#   - otherwise: installs code-server 4.100.3 (= VS Code 1.100.3, cached, ~1 min the first time; see
#     scripts/install-code-server.sh), installs the .vsix into it and serves VS Code at
#     http://127.0.0.1:${PORT:-8080}/ until Ctrl+C.
# Run after `npm ci` in the repo root.
#
# Options: --no-build            use the existing dist/vit-lens.vsix
#          --code-server         use code-server even when desktop VS Code is available
#          --port N              code-server port (default $PORT or 8080)
# Env:     VITLENS_CACHE (default ~/.cache/vit-lens), HOST (default 127.0.0.1), PORT,
#          VITLENS_VSIX (a prebuilt package; implies nothing about --no-build)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${VITLENS_CACHE:-$HOME/.cache/vit-lens}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8080}"
BUILD=1
FORCE_CODE_SERVER="${VITLENS_USE_CODE_SERVER:-0}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --code-server) FORCE_CODE_SERVER=1 ;;
    --port) PORT="$2"; shift ;;
    --port=*) PORT="${1#--port=}" ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "[open-vscode] $*" >&2; }
cd "$REPO"

VSIX="${VITLENS_VSIX:-$REPO/dist/vit-lens.vsix}"
if [[ "$BUILD" == 1 ]]; then
  say "building and packaging the extension (npm run build && npm run package)"
  npm run build
  npm run package
fi
[[ -f "$VSIX" ]] || { say "$VSIX not found (run without --no-build)"; exit 1; }

# Demo folder: a couple of sample photos (the bundled ImageNet ViT ships inside the extension).
WS="$REPO/.cache/demo-workspace"
mkdir -p "$WS"
for f in cat_tabby.jpg dog_beagle.jpg; do
  [[ -f "$WS/$f" ]] || cp "$REPO/samples/$f" "$WS/$f"
done
IMAGE="$WS/cat_tabby.jpg"

have_display() { [[ -n "${DISPLAY:-}" || -n "${WAYLAND_DISPLAY:-}" || "$(uname -s)" == Darwin ]]; }
if [[ "$FORCE_CODE_SERVER" != 1 ]] && command -v code >/dev/null && have_display; then
  say "installing $VSIX into desktop VS Code"
  code --install-extension "$VSIX" --force
  say "opening $WS"
  code "$WS" "$IMAGE"
  echo "ViT Lens is installed in VS Code; opened $WS. Right-click an image in the Explorer → \"ViT Lens: Visualize Image\"."
  exit 0
fi

CS_DIR="$(bash "$REPO/scripts/install-code-server.sh" | tail -n1)"
ENTRY="$CS_DIR/node_modules/code-server/out/node/entry.js"
STATE="$CACHE/open-vscode"
mkdir -p "$STATE/user-data/User" "$STATE/extensions" "$STATE/xdg/config" "$STATE/xdg/data" "$STATE/xdg/cache" "$STATE/tmp"
# Keep code-server's files (config, logs, vscode-ipc-*.sock) out of ~/.config, ~/.local and /tmp.
export XDG_CONFIG_HOME="$STATE/xdg/config" XDG_DATA_HOME="$STATE/xdg/data" XDG_CACHE_HOME="$STATE/xdg/cache" TMPDIR="$STATE/tmp"
SETTINGS="$STATE/user-data/User/settings.json"
[[ -f "$SETTINGS" ]] || cat > "$SETTINGS" <<'EOF'
{
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "git.openRepositoryInParentFolders": "never"
}
EOF
printf 'bind-addr: %s:%s\nauth: none\ncert: false\n' "$HOST" "$PORT" > "$STATE/config.yaml"
ARGS=(--user-data-dir "$STATE/user-data" --extensions-dir "$STATE/extensions" --config "$STATE/config.yaml")

say "installing $VSIX into code-server"
node "$ENTRY" "${ARGS[@]}" --install-extension "$VSIX" --force >&2

if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
  say "port $PORT on $HOST is already in use: set PORT=… or --port N"; exit 1
fi

node "$ENTRY" "${ARGS[@]}" --auth none --bind-addr "$HOST:$PORT" \
  --disable-telemetry --disable-update-check --disable-workspace-trust --disable-getting-started-override \
  --ignore-last-opened "$WS" &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; exit 0' INT TERM
trap 'kill "$PID" 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  if node -e "fetch('http://$HOST:$PORT/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then break; fi
  kill -0 "$PID" 2>/dev/null || { say "code-server exited"; wait "$PID"; exit 1; }
  sleep 0.5
done

URL="http://$HOST:$PORT/?folder=$(node -p 'encodeURIComponent(process.argv[1])' "$WS")"
# (Opening the image from the URL, payload [["openFile",…]], lands in the binary editor: the image preview
# is registered only after the extension host starts. So the user opens it from the Explorer.)
cat <<EOF

  ViT Lens is running in VS Code at $URL

  Open cat_tabby.jpg or dog_beagle.jpg in the Explorer, then right-click it → "ViT Lens: Visualize Image",
  or F1 → "ViT Lens: Visualize Active Image". Press Ctrl+C to stop.

EOF
wait "$PID"
