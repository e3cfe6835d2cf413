#!/usr/bin/env bash
# Dependency audit for CI: fails when npm audit reports any high or critical advisory (all
# dependencies, dev tools included: they run on the CI machine and build the shipped bundle).
# When the advisory endpoint cannot be reached (a registry mirror that only serves GET answers
# 405), nothing was audited: that is said loudly, and fails too when AUDIT_STRICT=1.
set -uo pipefail
cd "$(dirname "$0")/.."
# AUDIT_REPORT=<file>: judge a saved `npm audit --json` report instead (tests of this script)
if [ -n "${AUDIT_REPORT:-}" ]; then report=$(cat "$AUDIT_REPORT"); else report=$(npm audit --json --audit-level=high 2>/dev/null); fi
node -e '
  const r = JSON.parse(process.argv[1] || "{}");
  const strict = process.env.AUDIT_STRICT === "1";
  if (!r.metadata?.vulnerabilities) {
    console.error(`npm audit: the advisory endpoint gave no report (${r.message ?? r.error?.summary ?? "no answer"}); dependencies were NOT audited.`);
    process.exit(strict ? 1 : 0);
  }
  const v = r.metadata.vulnerabilities;
  console.log(`npm audit: ${v.critical} critical, ${v.high} high, ${v.moderate} moderate, ${v.low} low (${r.metadata.dependencies?.total ?? "?"} dependencies)`);
  if (v.critical + v.high > 0) {
    for (const [name, x] of Object.entries(r.vulnerabilities ?? {})) if (["high", "critical"].includes(x.severity)) console.error(`  ${x.severity}: ${name} ${x.range} (fix: ${x.fixAvailable ? "available" : "none yet"})`);
    process.exit(1);
  }
' "$report"
