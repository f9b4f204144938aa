/**
 * Recording: a call's remote tracks to a VP8/Opus WebM or Matroska file through ffmpeg, one file per call.
 */
export { Recorder } from './recorder.js';
export { RecordingSeries, type RecordingSeriesOptions } from './recording-series.js';
export { checkRecordingPath, recordingFormat, recordingPathFor } from './recording-path.js';
export {
  RECORDER_DEFAULTS,
  RECORDER_SAMPLE_RATE,
  type AudioData,
  type I420Frame,
  type ReceivedTrack,
  type ReceivedTrackEvents,
  type RecordedAudio,
  type RecorderEvents,
  type RecorderOptions,
  type RecorderStats,
  type RecorderStopOptions,
  type RecordingSummary,
} from './types.js';
