/**
 * One file of a recording: the ffmpeg that encodes it (VP8 frames from stdin, Opus from fd 3) and what went
 * into it. A recording without segments is one of these; a segmented one is a sequence, each started
 * (spawned) a little before its first frame so that ffmpeg's start-up never delays the cut.
 */
import { unlink } from 'node:fs/promises';
import { FfmpegProcess } from '../capture/ffmpeg-process.js';
import { buildRecorderArgs, type RecorderArgsOptions } from './recorder-args.js';
import { RECORDER_SAMPLE_RATE } from './types.js';

/** Audio waiting in one file's pipe, in seconds, before new chunks are refused. */
const AUDIO_MAX_BUFFERED_SEC = 12;

/**
 * One ffmpeg writing one file. Once spawned ({@link start}), it sits idle on its input pipes until the first
 * frame or sound comes (ffmpeg creates the file only then), so a spare one can be discarded without a trace.
 */
export class RecordingFile {
  readonly path: string;
  readonly ffmpeg: FfmpegProcess;
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
  /** Slots written (frames in the file, repeats included). */
  slots = 0;
  /** Audio frames written (samples per channel), silence included. */
  audioFrames = 0;
  /** Silence among them. */
  silenceFrames = 0;
  #exitCode: number | null | undefined;
  #videoEnded = false;
  #audioEnded = false;
  readonly #bytesPerAudioFrame: number;

  constructor(ffmpegPath: string, args: RecorderArgsOptions) {
    this.path = args.path;
    this.hasVideo = args.video !== undefined;
    this.hasAudio = args.audio !== undefined;
    this.#bytesPerAudioFrame = (args.audio?.channels ?? 1) * 2;
    this.ffmpeg = new FfmpegProcess({
      ffmpegPath,
      args: buildRecorderArgs(args),
      name: 'recorder',
      readyOn: 'running',
      stopWith: 'end',
      inputPipe3: this.hasAudio,
      // finalizing (writing cues and duration) after the last frames can take a moment on a busy machine
      stopTimeoutMs: 10_000,
    });
    this.ffmpeg.on('exit', (code) => (this.#exitCode = code));
  }

  /** Whether ffmpeg finished the file: it exited 0 after its inputs ended. */
  get finalized(): boolean {
    return this.#exitCode === 0 && this.inputsEnded;
  }

  /**
   * Spawns ffmpeg (synchronously; a start failure also shows up as its `exit` event). Resolves once it has
   * stayed alive for a moment; rejects as `FfmpegProcess.start` does.
   */
  start(): Promise<void> {
    return this.ffmpeg.start();
  }

  /** Writes one frame (the buffer must stay untouched until `done`). */
  writeVideo(buf: Uint8Array, done: (err?: Error | null) => void): void {
    this.slots++;
    this.ffmpeg.stdin.write(buf, done);
  }

  /** Whether ffmpeg is {@link AUDIO_MAX_BUFFERED_SEC} behind on its audio pipe (more sound is then dropped). */
  get audioFull(): boolean {
    const buffered = this.ffmpeg.pipe3.writableLength;
    return buffered > AUDIO_MAX_BUFFERED_SEC * RECORDER_SAMPLE_RATE * this.#bytesPerAudioFrame;
  }

  /** Writes interleaved samples. */
  writeAudio(samples: Int16Array): void {
    this.ffmpeg.pipe3.write(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength));
    this.audioFrames += samples.length / (this.#bytesPerAudioFrame / 2);
  }

  /** Writes `frames` frames of silence. */
  silence(frames: number): void {
    this.ffmpeg.pipe3.write(Buffer.alloc(frames * this.#bytesPerAudioFrame));
    this.audioFrames += frames;
    this.silenceFrames += frames;
  }

  /** No more video: ffmpeg's stdin ends. */
  endVideo(): void {
    if (this.#videoEnded || !this.hasVideo) return;
    this.#videoEnded = true;
    this.ffmpeg.stdin.end();
  }

  /** No more sound: fd 3 ends. */
  endAudio(): void {
    if (this.#audioEnded || !this.hasAudio) return;
    this.#audioEnded = true;
    this.ffmpeg.pipe3.end();
  }

  /** Whether every input of the file has ended (ffmpeg then finalizes it and exits). */
  get inputsEnded(): boolean {
    return (this.#videoEnded || !this.hasVideo) && (this.#audioEnded || !this.hasAudio);
  }

  /** Whether anything was written into it. */
  get used(): boolean {
    return this.slots > 0 || this.audioFrames > 0;
  }

  /** Ends what is left and waits for ffmpeg to finalize the file (escalating as `FfmpegProcess.stop` does). */
  async finish(): Promise<void> {
    this.endVideo();
    this.endAudio();
    await this.ffmpeg.stop();
  }

  /** Throws away a file that was never used: ffmpeg killed, and no empty file left behind. */
  async discard(): Promise<void> {
    const pid = this.ffmpeg.pid;
    if (pid !== undefined && !this.ffmpeg.exited) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
      await this.ffmpeg.waitForExit();
    }
    await unlink(this.path).catch(() => undefined);
  }
}
