#!/usr/bin/env bash
# The whole test suite: lint and format, fixtures and demo weights regenerate from PyTorch exactly as committed, the
# app builds and type-checks, every vitest suite (parity, converter, CLI, browser) passes, and the
# full-size XLS-R 300M checkpoint matches PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
# ESLint (typescript-eslint, react-hooks) and Prettier's format check
npm run -s lint
/usr/bin/python3 scripts/reference/make_fixtures.py --check
/usr/bin/python3 scripts/reference/metrics_reference.py --check
npx tsx scripts/make-demo.ts --check
npm run build
npm run build:faults
report=$(mktemp)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$report" || true
rm -f "$report"
[ "$status" -eq 0 ] || exit "$status"
npm run check:full
