/**
 * One capture alone (issue 16: what a webcam's frames cost before any peer connection): rtc-peer's
 * `VideoCapture` with its real ffmpeg, frames counted and dropped. The same class, arguments and pipe as a
 * call's; nothing else runs in the process.
 *
 * Usage: node capture.mjs FFMPEG SOURCE WIDTH HEIGHT FPS
 * SOURCE: `pattern` (rtc-peer's test pattern) or a media file's path (read in real time, looping).
 * stdin:  {"event":"mark"} {"event":"end"}
 * stdout: {"event":"first-frame"} {"event":"mark","frames":N} {"event":"result","frames":N,"dropped":N}
 */
import { createInterface } from 'node:readline';
import { VideoCapture } from '../../src/capture/video-capture.js';

const [ffmpegPath, sourceArg, w, h, rate] = process.argv.slice(2);
const width = Number(w);
const height = Number(h);
const fps = Number(rate);
if (!ffmpegPath || !sourceArg || !(width > 0) || !(height > 0) || !(fps > 0)) {
  process.stderr.write('usage: capture FFMPEG pattern|FILE WIDTH HEIGHT FPS\n');
  process.exit(2);
}
const out = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};

const capture = new VideoCapture({
  source: sourceArg === 'pattern' ? { kind: 'test-pattern' } : { kind: 'file', path: sourceArg },
  ffmpegPath,
  width,
  height,
  fps,
});
let frames = 0;
capture.on('frame', () => {
  if (frames++ === 0) out('first-frame');
});
capture.on('ended', (error) => {
  process.stderr.write(`capture ended: ${error ? error.message : 'without error'}\n`);
  process.exit(1);
});
await capture.start();

createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line) as { event: string };
  if (message.event === 'mark') out('mark', { frames });
  if (message.event === 'end')
    void capture.stop().then(() => {
      out('result', { frames, dropped: capture.stats.framesDropped });
      process.exit(0);
    });
});
