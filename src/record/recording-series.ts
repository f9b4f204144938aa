/**
 * The recordings of one peer's calls: one file per call (`out.webm`, `out-2.webm`, ...), or with segments
 * one name pattern for all of them (their files are named by time), the first one checked before any call
 * starts, and one `Recorder` per call with the same rule for overwriting.
 */
import { Recorder } from './recorder.js';
import { checkRecordingPath, recordingFormat, recordingPathFor } from './recording-path.js';
import { formatSegmentName, segmentPattern } from './segment-name.js';
import type { RecorderOptions } from './types.js';

/** Options of a {@link RecordingSeries}. */
export interface RecordingSeriesOptions {
  /**
   * The first call's file, `.webm` or `.mkv`; call N records to `NAME-N.ext`. With `recorder.segmentSec`, the
   * name pattern of every call's segments (see `segmentPattern`). Required.
   */
  path: string;
  /**
   * Overwrite existing files: the first one, and `NAME-N.ext` of call N. Default: false (the first file must
   * not exist, and a later call skips the numbers whose file exists).
   */
  force?: boolean;
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
  readonly #recorder: RecordingSeriesOptions['recorder'];
  readonly #segmented: boolean;

  /** @throws TypeError on invalid options (a name that is neither `.webm` nor `.mkv` among them). */
  constructor(options: RecordingSeriesOptions) {
    if (!options.path) throw new TypeError('recording: path is required');
    recordingFormat(options.path, options.recorder?.format);
    const segmentSec = options.recorder?.segmentSec;
    // a pattern that cannot name every segment is a bad option, before any call
    if (segmentSec !== undefined) segmentPattern(options.path, segmentSec);
    this.#segmented = segmentSec !== undefined;
    this.#path = options.path;
    this.#force = options.force ?? false;
    this.#recorder = options.recorder;
  }

  /**
   * Checks, before any call, that the first file can be recorded to: not there unless `force`, in a writable
   * directory.
   *
   * @throws RecordingPathError `RECORDING_EXISTS` or `RECORDING_UNWRITABLE`.
   */
  check(): Promise<void> {
    if (!this.#segmented) return checkRecordingPath(this.#path, this.#force);
    // segments: the directory must take a file of the pattern's names (the first one's, named now)
    const pattern = segmentPattern(this.#path, this.#recorder?.segmentSec ?? 1);
    return checkRecordingPath(formatSegmentName(pattern, new Date()), this.#force);
  }

  /** The file of call `index` (1, 2, ...); with segments, the pattern every call's files are named by. */
  pathFor(index: number): string {
    return this.#segmented ? this.#path : recordingPathFor(this.#path, index, this.#force);
  }

  /**
   * A recorder for call `index`, to its own file ({@link pathFor}). With `force`, it overwrites that file as
   * the first one's recorder does; without, the file does not exist.
   */
  recorderFor(index: number, ffmpegPath: string): Recorder {
    return new Recorder({ ...this.#recorder, path: this.pathFor(index), ffmpegPath, force: this.#force });
  }
}
