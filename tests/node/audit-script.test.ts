import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers';

// scripts/audit.sh decides CI's fate on `npm audit --json`: this registry answers the advisory
// endpoint with 405, so its verdicts are checked here on saved reports of each kind.

const ROOT = path.resolve(__dirname, '../..');
const dir = tempDir('audit');

function judge(report: unknown, env: Record<string, string> = {}) {
  const file = path.join(dir, `r${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof report === 'string' ? report : JSON.stringify(report));
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/audit.sh')], {
    env: { ...process.env, AUDIT_REPORT: file, ...env },
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

const counts = (high: number, critical: number) => ({
  info: 0,
  low: 1,
  moderate: 2,
  high,
  critical,
  total: 3 + high + critical,
});

describe('scripts/audit.sh', () => {
  it('passes a report with no high or critical advisory', () => {
    const r = judge({ vulnerabilities: {}, metadata: { vulnerabilities: counts(0, 0), dependencies: { total: 412 } } });
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/npm audit: 0 critical, 0 high, 2 moderate, 1 low \(412 dependencies\)/);
  });

  it('fails on a high advisory and names the package', () => {
    const r = judge({
      vulnerabilities: {
        'bad-pkg': { severity: 'high', range: '<1.2.3', fixAvailable: true },
        'meh-pkg': { severity: 'moderate', range: '*', fixAvailable: false },
      },
      metadata: { vulnerabilities: counts(1, 0), dependencies: { total: 412 } },
    });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/high: bad-pkg <1\.2\.3 \(fix: available\)/);
    expect(r.out).not.toMatch(/meh-pkg/);
  });

  it('fails on a critical advisory', () => {
    const r = judge({
      vulnerabilities: { worse: { severity: 'critical', range: '*', fixAvailable: false } },
      metadata: { vulnerabilities: counts(0, 1) },
    });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/critical: worse \* \(fix: none yet\)/);
  });

  it('an unreachable advisory endpoint is said loudly; it fails only under AUDIT_STRICT=1', () => {
    const report = {
      message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
    };
    const lax = judge(report);
    expect(lax.status).toBe(0);
    expect(lax.out).toMatch(
      /the advisory endpoint gave no report \(405 Method Not Allowed.*\); dependencies were NOT audited/,
    );
    expect(judge(report, { AUDIT_STRICT: '1' }).status).toBe(1);
    expect(judge('', { AUDIT_STRICT: '1' }).status).toBe(1);
  });
});

describe('scripts/deps/check-allowlist.mjs', () => {
  const check = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(ROOT, 'scripts/deps/check-allowlist.mjs'), ...args], { encoding: 'utf8' });

  it('passes on the committed lockfile and list', () => {
    const r = check();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/all \d+ packages reviewed/);
  });

  it('fails when a package enters the tree without review, naming it', () => {
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    lock.packages['node_modules/left-pad-reloaded'] = { version: '1.0.0' };
    lock.packages['node_modules/vite/node_modules/@evil/helper'] = { version: '0.0.1' };
    const file = path.join(dir, 'package-lock.json');
    writeFileSync(file, JSON.stringify(lock));
    const r = check('--lock', file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /2 packages in package-lock\.json are not on the reviewed list: @evil\/helper, left-pad-reloaded/,
    );
  });
});
