// Every package in package-lock.json must be on the reviewed list (scripts/deps/allowlist.txt): a
// dependency update that pulls in a package nobody looked at fails CI, naming it.
//
//   node scripts/deps/check-allowlist.mjs [--lock package-lock.json] [--list scripts/deps/allowlist.txt] [--write]
//
// --write rewrites the list from the lockfile (after reviewing what is new). Names only: a new
// version of a listed package is the audit's business, a new name is this check's.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const { values } = parseArgs({
  options: { lock: { type: 'string' }, list: { type: 'string' }, write: { type: 'boolean' } },
});
const lockFile = values.lock ?? path.join(root, 'package-lock.json');
const listFile = values.list ?? path.join(root, 'scripts/deps/allowlist.txt');
const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
const names = new Set(
  Object.keys(lock.packages ?? {})
    .filter((k) => k.includes('node_modules/'))
    .map((k) => k.slice(k.lastIndexOf('node_modules/') + 'node_modules/'.length)),
);
if (values.write) {
  writeFileSync(
    listFile,
    `# Packages reviewed for this project (npm names; scripts/deps/check-allowlist.mjs)\n${[...names].sort().join('\n')}\n`,
  );
  console.log(`wrote ${names.size} names to ${listFile}`);
  process.exit(0);
}
const allowed = new Set(
  readFileSync(listFile, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#')),
);
const unknown = [...names].filter((n) => !allowed.has(n)).sort();
const gone = [...allowed].filter((n) => !names.has(n)).sort();
if (gone.length)
  console.log(
    `dependency allow-list: ${gone.length} listed packages are no longer in the tree (${gone.join(', ')}); "--write" tidies the list`,
  );
if (unknown.length) {
  console.error(
    `dependency allow-list: ${unknown.length} packages in ${path.basename(lockFile)} are not on the reviewed list: ${unknown.join(', ')}.\n` +
      `Review them (what they are, who publishes them, what their install scripts do), then run "node scripts/deps/check-allowlist.mjs --write".`,
  );
  process.exit(1);
}
console.log(`dependency allow-list: all ${names.size} packages reviewed`);
