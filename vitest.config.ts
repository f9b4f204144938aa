import { defineConfig } from 'vitest/config';

/**
 * Test files that run real-time media (capture, encode, send, decode, record) or assert on timing. One such
 * file alone already keeps more than one of the machine's two cores busy (a call with a recording: the
 * caller's capture and encoder, the answerer's decoder and the recorder's encoder, about 1.2 cores at
 * 640x480), so two of them side by side, or one beside anything heavy, starve each other and drop frames.
 * Measured (issue 10): with the CPU taken, the caller's threads wait 100-200 ms per 50 ms on the run queue,
 * and a call with no signaling restart at all shows the same 13-frame gap as the restart test did in the
 * full suite. So these run one file at a time, after everything else, with the machine to themselves.
 *
 * Rule for a new file: if it starts ffmpeg, a peer connection, Chromium or the CLI for a call, or asserts on
 * elapsed time, list its glob here.
 */
const REALTIME = [
  'test/e2e/call.test.ts',
  'test/e2e/lifecycle.test.ts',
  'test/e2e/audio.test.ts',
  'test/e2e/turn.test.ts',
  'test/e2e/stun.test.ts',
  'test/e2e/shutdown.test.ts',
  'test/e2e/multi-viewer.test.ts',
  'test/e2e/protocol-1.test.ts',
  'test/e2e/restart.test.ts',
  'test/e2e/call-starts.test.ts',
  'test/e2e/segments.test.ts',
  'test/e2e/cluster.test.ts',
  'test/signal/cluster-failures.test.ts',
  'test/signal/held-expiry.test.ts',
  'test/web/browser-pair.test.ts',
  'test/web/cli-interop.test.ts',
  'test/web/data-page.test.ts',
  'test/record/recorder.test.ts',
  'test/record/audio.test.ts',
  'test/record/pipeline.test.ts',
  'test/record/sigint.test.ts',
  'test/record/recording-series.test.ts',
  'test/record/segments.test.ts',
  'test/capture/video-capture.test.ts',
  'test/capture/audio-capture.test.ts',
  'test/capture/ffmpeg-process.test.ts',
  'test/peer/first-audio.test.ts',
  'test/peer/negotiator.test.ts',
  'test/peer/descriptions.test.ts', // a child crashing wrtc on purpose, 300 connections
  'test/signal/whip/endpoint-media.test.ts',
  'test/signal/whip/janus.test.ts',
  'test/signal/whip/whip-client.test.ts',
  'test/signal/whip/browser.test.ts',
  'test/e2e/whip-answer.test.ts',
  'test/e2e/whip-cli.test.ts',
  'test/e2e/whip-janus.test.ts',
  'test/peer/data-link.test.ts',
  'test/e2e/data.test.ts',
  'test/peer/peer-data.test.ts',
  // issue 15: a message flood against the server (the flooder cut within 1 s)
  'test/signal/flood.test.ts',
  'test/signal/origin.test.ts', // Chromium
  'test/signal/fuzz.test.ts', // 100,000 messages, in well under a minute
  'test/e2e/tls.test.ts', // calls over wss
  'test/web/tls.test.ts', // Chromium over https
  // the network lab: calls through namespaces, NATs, loss and rate caps
  'test/net/*.test.ts',
];

/**
 * Lab tests of product behaviour that has not landed yet; they land with the product change, see issues 12
 * and 13 and docs/network-lab.md (each file says what it needs). Not in the suite until then: a test that
 * passes by failing proves nothing.
 */
const PENDING = ['test/net/pending/**'];
// RTC_PEER_PENDING=1 runs them (with the real-time files), to try a product change against them.
if (process.env.RTC_PEER_PENDING) REALTIME.push(...PENDING.splice(0));

export default defineConfig({
  test: {
    // The Debian packages the tests need (test/system/packages.ts) are checked, and installed when root, before
    // any test file loads; `npm test` does it once before vitest too (pretest), with cleaner output. (vitest
    // runs it again for each project, one after the other: a few file checks once the packages are there.)
    globalSetup: ['test/system/ensure-packages.ts'],
    // Nothing a test file starts outlives it: processes still running after its last hook fail the file
    // (test/helpers/leak-check.ts).
    setupFiles: ['test/helpers/leak-check.ts'],
    // Each test file runs in its own child process: @roamhq/wrtc is native code and a crash in one file
    // must not take the others with it.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    allowOnly: false,
    projects: [
      {
        extends: true,
        test: {
          // Protocol, unit and process-error tests: light on CPU, two at a time on the two cores.
          name: 'parallel',
          include: ['test/**/*.test.ts'],
          exclude: [...REALTIME, ...PENDING],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'realtime',
          include: REALTIME,
          exclude: PENDING,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
