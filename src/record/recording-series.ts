/**
 * The recordings of one peer's calls: one file per call (`out.webm`, `out-2.webm`, ...), the first one
 * checked before any call starts, and one `Recorder` per call with the same rule for overwriting.
 */
import { Recorder } from './recorder.js';
import { checkRecordingPath, recordingFormat, recordingPathFor } from './recording-path.js';
import type { RecorderOptions } from './types.js';

/** Options of a {@link RecordingSeries}. */
export interface RecordingSeriesOptions {
  /** The first call's file, `.webm` or `.mkv`; call N records to `NAME-N.ext`. Required. */
  path: string;
  /**
   * Overwrite existing files: the first one, and `NAME-N.ext` of call N. Default: false (the first file must
   * not exist, and a later call skips the numbers whose file exists).
   */
  force?: boolean;
  /**
   * The number of the first call's file: call 1 records to `NAME-firstNumber.ext`, call 2 to the next
   * number, and so on. A series that starts above 1 continues an earlier one (a peer that `rtc-peer --restart`
   * brought back after a crash): it skips every number whose file exists, even with `force`, so it never
   * overwrites what the earlier one recorded. Default: 1.
   */
  firstNumber?: number;
  /** Options of every call's `Recorder`, but its file. Default: the recorder's own defaults. */
  recorder?: Omit<RecorderOptions, 'path' | 'ffmpegPath' | 'force'>;
}

/**
 * Where each call of a peer is recorded, and its recorder.
 *
 * @example
 * const recordings = new RecordingSeries({ path: 'out.webm' });
 * await recordings.check(); // RecordingPathError before any call
 * const recorder = recordings.recorderFor(callIndex, ffmpegPath);
 * call.on('track', (track) => recorder.addTrack(track));
 */
export class RecordingSeries {
  readonly #path: string;
  readonly #force: boolean;
  readonly #firstNumber: number;
  readonly #recorder: RecordingSeriesOptions['recorder'];

  /** @throws TypeError on invalid options (a name that is neither `.webm` nor `.mkv` among them). */
  constructor(options: RecordingSeriesOptions) {
    if (!options.path) throw new TypeError('recording: path is required');
    recordingFormat(options.path, options.recorder?.format);
    const firstNumber = options.firstNumber ?? 1;
    if (!Number.isSafeInteger(firstNumber) || firstNumber < 1)
      throw new TypeError(`recording: firstNumber must be a whole number >= 1, not ${firstNumber}`);
    this.#path = options.path;
    this.#firstNumber = firstNumber;
    // A continued series never overwrites: the files below and at its numbers may be the earlier run's.
    this.#force = firstNumber === 1 && (options.force ?? false);
    this.#recorder = options.recorder;
  }

  /**
   * Checks, before any call, that the first file can be recorded to: not there unless `force`, in a writable
   * directory.
   *
   * @throws RecordingPathError `RECORDING_EXISTS` or `RECORDING_UNWRITABLE`.
   */
  check(): Promise<void> {
    return checkRecordingPath(this.pathFor(1), this.#force);
  }

  /** The file of call `index` (1, 2, ...). */
  pathFor(index: number): string {
    return recordingPathFor(this.#path, index + this.#firstNumber - 1, this.#force);
  }

  /**
   * A recorder for call `index`, to its own file ({@link pathFor}). With `force`, it overwrites that file as
   * the first one's recorder does; without, the file does not exist.
   */
  recorderFor(index: number, ffmpegPath: string): Recorder {
    return new Recorder({ ...this.#recorder, path: this.pathFor(index), ffmpegPath, force: this.#force });
  }
}
