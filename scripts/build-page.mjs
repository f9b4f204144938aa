// Bundles the browser page (src/web/page/main.ts and what it imports: the signaling client, the negotiation
// rules, the stats summary, socket.io-client, zod) into dist/web/page.js, which `rtc-peer signal` serves at
// /rtc-peer.js. tsc type-checks the same sources (npm run build runs it first); esbuild only bundles.
import { build } from 'esbuild';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: ['src/web/page/main.ts'],
  outfile: 'dist/web/page.js',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: 'linked',
  sourcesContent: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

// The build's stamp: dist/ is as new as src/ was now. tsc -b leaves outputs alone whose source did not change
// (a checkout that only touched mtimes), so test/helpers/dist.ts judges freshness by this stamp too.
await writeFile(new URL('../dist/.built', import.meta.url), `${new Date().toISOString()}\n`);
