/**
 * The package's entry point (dist/index.js, what `import ... from 'rtc-peer'` loads): what a library user
 * needs is there, and the internals are not.
 */
import { describe, expect, test } from 'vitest';
import * as api from '../src/index.js';

describe("rtc-peer's API", () => {
  test('the parts of the walk-through, their defaults and errors', () => {
    for (const name of [
      'Peer',
      'Call',
      'DataLink',
      'DataMessageTooLarge',
      'SendBridge',
      'startSignalServer',
      'RoomSignaling',
      'Negotiator',
      'WhipSignaling',
      'WhepSignaling',
      'ROOM_SIGNALING_DEFAULTS',
      'VideoCapture',
      'AudioCapture',
      'locateFfmpeg',
      'listDevices',
      'Recorder',
      'RecordingSeries',
      'checkRecordingPath',
      'webPageHandler',
      'PEER_DEFAULTS',
      'SIGNAL_SERVER_DEFAULTS',
      'CAPTURE_DEFAULTS',
      'RECORDER_DEFAULTS',
      'DEFAULT_ROOM',
      'RtcPeerError',
      'RecordingPathError',
      'DeviceError',
      'SignalError',
    ])
      expect(api, name).toHaveProperty(name);
  });

  test('no internals: schemas, pure rooms, argument builders, pools', () => {
    for (const name of [
      'Room',
      'RoomRegistry',
      'serverMessageSchema',
      'buildCaptureArgs',
      'FrameReader',
      'AudioChunker',
      'FfmpegProcess',
      'VideoTimeline',
      'AudioTimeline',
      'ReceiveBridge',
      'Reporter',
      'SignalClient',
      'ResendLedger',
    ])
      expect(api, name).not.toHaveProperty(name);
  });
});
