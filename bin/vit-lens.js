#!/usr/bin/env node
// Command-line entry: the webpack-built CLI (run `npm run build` first).
require('../dist/cli.js').main(process.argv.slice(2)).then((code) => process.exit(code));
