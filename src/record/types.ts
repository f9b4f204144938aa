/**
 * The public shapes of the recording room: the recorder's options and events, what a finished recording
 * reports, and the media it consumes.
 */
import type { RetentionLimits } from './retention.js';

/** Options of a `Recorder`. Defaults live in {@link RECORDER_DEFAULTS}. */
export interface RecorderOptions {
  /** Output file, `.webm` or `.mkv`. Required. */
  path: string;
  /** The ffmpeg binary (see `locateFfmpeg`). Required. */
  ffmpegPath: string;
  /** Overwrite an existing file. Default: false. */
  force?: boolean;
  /** Container. Default: from the extension (`.webm` -> webm, `.mkv` -> mkv). */
  format?: 'webm' | 'mkv';
  /**
   * Frames queued for ffmpeg before the oldest is dropped (and counted). Default: 16 (room for the frames a
   * late packet releases at once, see `burstHoldMs`; 16 frames of 1280x720 are 22 MB).
   */
  maxQueuedFrames?: number;
  /**
   * How long the frames that come after a stall of the video (two frame slots or more) are held before they
   * are placed on the timeline, ms: the frames a late packet (a NACK's retransmission) held back arrive all
   * at once, and go back into the stall's slots rather than being dropped. 0: placed as they come.
   * Default: 150.
   */
  burstHoldMs?: number;
  /** Frame rate of the file's timeline: arrivals are placed on it by wall clock. Default: 30. */
  fps?: number;
  /**
   * With video announced (`Recorder.addTrack` or `expectTrack`), how long sound that came first waits for the
   * first frame before it is recorded alone, ms. Default: 10000.
   */
  waitForTracksMs?: number;
  /** Opus bitrate of the recorded audio, bit/s. Default: 64000. */
  audioBitrate?: number;
  /**
   * Cut the recording into files of this many seconds (a whole number of frames at `fps`): `path` is then a
   * name pattern with strftime-style fields filled in with each file's start time (`cam-%Y%m%d-%H%M%S.webm`;
   * a name without fields gets `-%Y%m%d-%H%M%S` before its extension, see `segmentPattern`). Each file is
   * complete and starts on a keyframe; no frame is lost or repeated between files and the sound goes on
   * across them. Default: one file.
   */
  segmentSec?: number;
  /** With `segmentSec`: delete the oldest files of the pattern to stay within these limits. Default: keep all. */
  keep?: RetentionLimits;
  /**
   * Free space to leave on the recording's disk, bytes: with less, the current file is ended (finalized) and
   * recording pauses (the `paused` event); a segmented recording resumes into a new file once twice this is
   * free (`resumed`). Default: 5 s of the recording's bitrate, at least 1 MiB (`diskReserveBytes`).
   */
  diskReserveBytes?: number;
}

/** Defaults of {@link RecorderOptions}, in one place. */
export const RECORDER_DEFAULTS = {
  force: false,
  maxQueuedFrames: 16,
  burstHoldMs: 150,
  fps: 30,
  waitForTracksMs: 10_000,
  audioBitrate: 64_000,
} as const;

/** Sample rate of recorded audio (Opus's own rate); other rates are resampled to it. */
export const RECORDER_SAMPLE_RATE = 48_000;

/** Events of a `Recorder`. */
export type RecorderEvents = {
  /** ffmpeg died mid-recording; the recording is over (what was written so far may not be finalized). */
  error: [error: Error];
  /** A file of the recording is finished (finalized, playable): each segment, or the one file at the end. */
  recording: [file: RecordingSummary];
  /**
   * Recording paused: the disk is (nearly) full. The file being written was ended cleanly first (unless
   * something else filled the disk faster than the reserve allowed: then `message` says the file was cut).
   */
  paused: [info: RecordingPause];
  /** Recording resumed into a new file, `path`, once space returned. */
  resumed: [path: string];
  /** Retention deleted these files (the oldest of the pattern). */
  deleted: [paths: string[]];
};

/** Why a recording paused. */
export interface RecordingPause {
  /** What happened and what happens next, in words. */
  message: string;
  /** The file that was being written when it paused, if any. */
  path: string | undefined;
  /** Bytes free on its disk, and the reserve the recorder keeps (see `diskReserveBytes`). */
  freeBytes: number | undefined;
  reserveBytes: number;
}

/** Options of `Recorder.stop`. */
export interface RecorderStopOptions {
  /**
   * Where the file ends, as a `performance.now()` time: the last frame is held up to it. Default: now. A
   * call the other side ended passes the arrival of its last media, so that the time it took to notice the
   * hang-up (a bye through the server, a vanished peer's silence) is not recorded as a frozen picture.
   */
  endAtMs?: number;
}

/** What `Recorder.stop` reports about the finished file. */
export interface RecordingSummary {
  /** The file; for a whole segmented recording, its name pattern (see `segments`). */
  path: string;
  /** Files a segmented recording wrote (each reported by a `recording` event); absent without segments. */
  segments?: number;
  /** Frames in the file (the timeline's slots, including repeats that fill gaps); 0 without video. */
  frames: number;
  /** Duration of the file in seconds: from the first frame's (or, without video, sound's) arrival to `stop()`. */
  durationSec: number;
  /** Video size; 0x0 without video. */
  width: number;
  height: number;
  /** Frames dropped because ffmpeg fell behind (or arrived faster than `fps`). */
  dropped: number;
  /** The Opus audio track, when the file has one. */
  audio?: RecordedAudio;
}

/** The audio part of a {@link RecordingSummary}. */
export interface RecordedAudio {
  /** Seconds of sound in the file, silence that filled gaps included. */
  durationSec: number;
  sampleRate: number;
  channels: number;
  /** Seconds of silence inserted where sound was missing (at the start, in gaps, up to `stop()`). */
  silenceSec: number;
  /** 10 ms chunks dropped (ahead of the clock, or ffmpeg not keeping up). */
  droppedChunks: number;
}

/** Live counters of a `Recorder`. */
export interface RecorderStats {
  /** Distinct frames written to ffmpeg. */
  framesWritten: number;
  /** Frames dropped: ffmpeg fell behind, or they came faster than `fps`. */
  framesDropped: number;
  /** Frames scaled to the first size (the remote encoder changed resolution). */
  resized: number;
  /** Frames in the file so far: timeline slots written, repeats included (`frames` once it is finished). */
  framesInFile: number;
}

/** One decoded video frame, I420 (Y plane, then U, then V), as `RTCVideoSink` gives it. */
export interface I420Frame {
  width: number;
  height: number;
  /** `width * height * 3 / 2` bytes. */
  data: Uint8Array | Uint8ClampedArray;
}

/** One chunk of decoded PCM as `RTCAudioSink` gives it: interleaved 16-bit samples. */
export interface AudioData {
  samples: Int16Array;
  sampleRate: number;
  /** Default: 1. */
  channelCount?: number;
}

/** Events of a {@link ReceivedTrack}: its decoded media, each with its arrival time (`performance.now()`). */
export type ReceivedTrackEvents = {
  /** A video track's frame. The frame is only valid during the call: copy it to keep it. */
  frame: [frame: I420Frame, arrivalMs: number];
  /** An audio track's chunk (10 ms). */
  data: [data: AudioData, arrivalMs: number];
};

/**
 * A remote track as a recording consumes it: its kind, and its decoded media as events. The call's receive
 * bridge (`peer/receive-bridge.ts`) makes these from wrtc's sinks, and `Recorder.addTrack` subscribes, as
 * aiortc's `MediaRecorder.addTrack` consumes a track.
 */
export interface ReceivedTrack {
  readonly kind: 'audio' | 'video';
  on<K extends keyof ReceivedTrackEvents>(
    event: K,
    listener: (...args: ReceivedTrackEvents[K]) => void,
  ): unknown;
  off<K extends keyof ReceivedTrackEvents>(
    event: K,
    listener: (...args: ReceivedTrackEvents[K]) => void,
  ): unknown;
}
