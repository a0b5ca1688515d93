#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: system packages, npm dependencies, and the offline
# VS Code (code-server) used by the end-to-end tests and by `npm start` where no desktop VS Code exists.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium ripgrep libkrb5-dev build-essential python3)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: npm ci"
# onnxruntime-node is only the benchmark's native reference: keep its bundled CPU binary, download nothing.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund

if [ -f scripts/install-code-server.sh ]; then
  bash scripts/install-code-server.sh
fi
echo "setup: done"
