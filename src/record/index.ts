/** Recording: frames from a remote track to a VP8 WebM/Matroska file through ffmpeg. */
export * from './recorder.js';
export * from './scale-i420.js';
