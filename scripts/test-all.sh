#!/usr/bin/env bash
# Every test, offline: static checks, build, the @vscode/test-electron suite (in code-server's extension
# host: nothing is downloaded), then unit, inference, browser and VS Code end-to-end tests in one node:test
# run whose summary closes the output.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-results

echo "== typecheck + lint"
npx tsc -p . --noEmit
npx eslint src test bench

echo "== build + package"
npx webpack --mode production
npm run --silent package

echo "== @vscode/test-electron suite (code-server shim, offline)"
VITLENS_CODE_SERVER_SHIM=1 npm run --silent test:electron

echo "== unit, inference, browser and VS Code tests"
shopt -s nullglob
files=(test/unit/*.test.ts test/inference/*.test.ts test/robustness/*.test.ts test/browser/*.test.ts test/vscode/*.test.ts)
node --import tsx --test --test-concurrency=1 "${files[@]}"
