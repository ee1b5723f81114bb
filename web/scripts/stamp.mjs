// The built console (dist/) is committed so that a fresh clone builds without npm. This keeps it
// honest: `node scripts/stamp.mjs` (run by `npm run build`) records a hash of every source the
// build reads in dist/.source-hash; `--check` (ctest console_assets_fresh) fails when the
// sources changed since, or a file the pages load is missing, naming the fix.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const inputs = ['index.html', 'admin.html', 'vite.config.js', 'package-lock.json',
  ...readdirSync(path.join(root, 'src')).sort().map((f) => `src/${f}`)];

const hash = createHash('sha256');
for (const f of inputs) {
  hash.update(`${f}\0`);
  hash.update(readFileSync(path.join(root, f)));
  hash.update('\0');
}
const digest = hash.digest('hex');
const stampFile = path.join(root, 'dist/.source-hash');

if (process.argv.includes('--check')) {
  // Every file the pages load must be there (a rebuild renames them by content hash; a commit
  // that forgot `git add web/dist` leaves a clone with pages that point at nothing).
  for (const page of ['index.html', 'admin.html']) {
    const html = readFileSync(path.join(root, 'dist', page), 'utf8');
    for (const [, ref] of html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)) {
      if (!existsSync(path.join(root, 'dist', ref))) {
        console.error(`web/dist/${page} loads ${ref}, which is missing: git add web/dist after npm run build`);
        process.exit(1);
      }
    }
  }
  const recorded = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : '(none)';
  if (recorded !== digest) {
    console.error(`web/dist is stale: its sources hash to ${digest}, dist was built from ${recorded}.\n` +
      'Rebuild and commit it: (cd web && npm ci && npm run build) && git add web/dist');
    process.exit(1);
  }
  console.log(`web/dist is up to date (${digest.slice(0, 12)})`);
} else {
  writeFileSync(stampFile, `${digest}\n`);
  console.log(`stamped web/dist/.source-hash ${digest.slice(0, 12)}`);
}
