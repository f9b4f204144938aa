/** `rtc-peer --version`: rtc-peer's version, which ffmpeg it uses (and where it found it), node's. */
import { readFileSync } from 'node:fs';
import { locateFfmpeg } from '../../capture/index.js';
import { ExitCode } from '../exit-codes.js';

/** rtc-peer's version, from its package.json. */
export const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Prints the versions; `explicit` is `--ffmpeg`. */
export async function printVersion(explicit?: string): Promise<number> {
  process.stdout.write(`rtc-peer ${VERSION}\n`);
  try {
    const ffmpeg = await locateFfmpeg({ explicit });
    process.stdout.write(`ffmpeg: ${ffmpeg.path} (from ${ffmpeg.source})\n        ${ffmpeg.version}\n`);
  } catch (error) {
    process.stdout.write(`ffmpeg: not found\n${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.stdout.write(`node: ${process.version}\n`);
  return ExitCode.OK;
}
