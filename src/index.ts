/**
 * rtc-peer's programmatic API. The CLI (`src/cli.ts`) is a thin layer over these.
 */
export * from './errors.js';
