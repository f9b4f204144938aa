/**
 * The build a user runs: `npm install` (prepare) and `npm test` (pretest) compile src/ to dist/. The CLI tests
 * and the child-process fixtures run that build, not a transpile of src/ of their own; a dist/ older than
 * src/ (vitest run directly after an edit) would test yesterday's code, so it fails the test instead.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The build's directory. */
export const DIST = path.join(ROOT, 'dist');

let checked = false;

/** Throws, saying what to run, when a file of src/ has no build in dist/ or a newer one than its build. */
export function assertDistFresh(): void {
  if (checked) return;
  const stale: string[] = [];
  // npm run build's last step stamps dist/: a source older than the stamp is built, even where tsc -b left an
  // unchanged output's old mtime alone (a checkout or merge touches sources without changing them).
  let stampedAt = 0;
  try {
    stampedAt = statSync(path.join(DIST, '.built')).mtimeMs;
  } catch {
    // never built by npm run build
  }
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts')) {
        const relative = path.relative(path.join(ROOT, 'src'), file);
        // The browser page's modules are bundled into one file.
        const built = relative.startsWith(`web${path.sep}page${path.sep}`)
          ? path.join(DIST, 'web', 'page.js')
          : path.join(DIST, relative).replace(/\.ts$/, '.js');
        let builtAt = 0;
        try {
          builtAt = Math.max(statSync(built).mtimeMs, stampedAt);
        } catch {
          // not built
        }
        if (builtAt < statSync(file).mtimeMs) stale.push(path.relative(ROOT, file));
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  if (stale.length > 0) {
    throw new Error(
      `dist/ is older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ` and ${stale.length - 5} more` : ''}: ` +
        'these tests run the build a user runs; `npm run build` (npm test does it first)',
    );
  }
  checked = true;
}
