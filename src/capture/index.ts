/** Capture: find ffmpeg, run it, cut its output into frames, list devices. */
export * from './audio-args.js';
export * from './audio-capture.js';
export * from './audio-chunker.js';
export * from './barcode.js';
export * from './capture-args.js';
export * from './devices.js';
export * from './ffmpeg-locate.js';
export * from './ffmpeg-process.js';
export * from './frame-reader.js';
export * from './test-beep.js';
export * from './video-capture.js';
