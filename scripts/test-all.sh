#!/usr/bin/env bash
# Every test, offline: static checks, build, then unit, inference, browser and VS Code tests in one
# node:test run (one summary at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-results

echo "== typecheck + lint"
npx tsc -p . --noEmit
npx eslint src test

echo "== build"
npx webpack --mode production
if [ -f test/vscode/e2e.test.ts ]; then npm run --silent package; fi

echo "== tests"
shopt -s nullglob
files=(test/unit/*.test.ts test/inference/*.test.ts test/browser/*.test.ts test/vscode/*.test.ts)
node --import tsx --test --test-concurrency=1 "${files[@]}"
