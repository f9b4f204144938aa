/**
 * Two real `Call`s (the CLI's: wrtc peer connection, receive bridge, stats) negotiated through a real
 * signaling server by the negotiator over RoomSignaling, as `rtc-peer call` and `rtc-peer answer` do it.
 */
import { Call, type CallOptions } from '../../src/peer/call.js';
import { Negotiator } from '../../src/peer/negotiator.js';
import { RoomSignaling } from '../../src/signal/room-signaling.js';
import { waitFor } from './signal-server.js';

/** One side: its signaling, its negotiator and the calls it made. */
export interface CallSide {
  signaling: RoomSignaling;
  negotiator: Negotiator<Call>;
  calls: Call[];
  /** The calls that belong to the other side (not a caller's spare). */
  owned: Call[];
}

/**
 * A caller and an answerer (`onCall` sees each call as it is made) in `room` of the server at `url`, each with the tracks given, joined (answerer
 * first); resolves once each has a call with the other. Closed by `close()`.
 */
export async function callPair(
  url: string,
  room: string,
  tracks: {
    caller?: Pick<CallOptions, 'videoTrack' | 'audioTrack'>;
    answerer?: Pick<CallOptions, 'videoTrack' | 'audioTrack'>;
  } = {},
  onCall?: (call: Call, role: 'caller' | 'answerer') => void,
): Promise<{
  caller: CallSide;
  answerer: CallSide;
  callerCall: Call;
  answererCall: Call;
  close(): Promise<void>;
}> {
  const side = (role: 'caller' | 'answerer'): CallSide => {
    const signaling = new RoomSignaling({ url, role, room, connectTimeoutMs: 3000 });
    const calls: Call[] = [];
    const owned: Call[] = [];
    const negotiator = new Negotiator<Call>({
      signaling,
      createCall: () => {
        const call = new Call({
          role,
          rtcConfiguration: { iceServers: [] },
          index: calls.length + 1,
          ...tracks[role],
        });
        calls.push(call);
        onCall?.(call, role);
        return call;
      },
    });
    negotiator.on('call', (call) => owned.push(call));
    negotiator.on(
      'ended',
      (call, reason) => void call.close(reason === 'peer-hangup' ? 'peer-hangup' : 'replaced'),
    );
    return { signaling, negotiator, calls, owned };
  };
  const answerer = side('answerer');
  const caller = side('caller');
  await answerer.negotiator.start();
  await caller.negotiator.start();
  const callerCall = await waitFor("the caller's call", () => caller.owned[0]);
  const answererCall = await waitFor("the answerer's call", () => answerer.owned[0]);
  return {
    caller,
    answerer,
    callerCall,
    answererCall,
    async close() {
      for (const s of [caller, answerer]) {
        s.negotiator.close();
        await Promise.all(s.calls.map((c) => c.close('hangup')));
        await s.signaling.close();
      }
    },
  };
}
