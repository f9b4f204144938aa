/**
 * Capture: find ffmpeg, run it on a camera, a microphone, a file or the test pattern, and hand out raw
 * frames and 10 ms chunks of sound; list the devices. The rest of the room (argument building, the frame
 * reader, the chunker, the marks drawn into the test pattern) is imported from its own file where needed.
 */
export { VideoCapture, type VideoCaptureEvents, type VideoFrame } from './video-capture.js';
export {
  AudioCapture,
  type AudioCaptureEvents,
  type AudioCaptureStats,
  type AudioChunk,
} from './audio-capture.js';
export {
  CAPTURE_DEFAULTS,
  captureSourceLabel,
  sourceFromDevice,
  type CaptureOptions,
  type CaptureSource,
  type FileSource,
} from './capture-args.js';
export {
  AUDIO_DEFAULTS,
  audioSourceFromDevice,
  audioSourceLabel,
  type AudioCaptureOptions,
  type AudioSource,
} from './audio-args.js';
export {
  locateFfmpeg,
  type FfmpegLocation,
  type FfmpegSource,
  type LocateFfmpegOptions,
} from './ffmpeg-locate.js';
export { listDevices, type DeviceInfo, type DeviceList } from './devices.js';
export { readBarcode, type BarcodePayload } from './barcode.js';
