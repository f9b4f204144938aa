/**
 * A loopback pair of `@roamhq/wrtc` RTCPeerConnections in one process: `a` sends a track, `b` receives it.
 * Offer/answer and ICE candidates are handed over directly (no signaling server).
 */
import wrtc from '@roamhq/wrtc';

/** The two connections, the track as `b` receives it, and a `close()` for `afterEach`. */
export interface LoopbackPair {
  a: RTCPeerConnection;
  b: RTCPeerConnection;
  /** The remote track on `b`. */
  remoteTrack: MediaStreamTrack;
  /** Closes both connections (idempotent). */
  close(): void;
}

/** Connects a pair carrying `track` from `a` to `b`; resolves once `b` has the remote track and ICE is up. */
export async function connectLoopbackPair(
  track: MediaStreamTrack,
  timeoutMs = 10_000,
): Promise<LoopbackPair> {
  const a = new wrtc.RTCPeerConnection() as unknown as RTCPeerConnection;
  const b = new wrtc.RTCPeerConnection() as unknown as RTCPeerConnection;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    a.close();
    b.close();
  };
  try {
    a.onicecandidate = (e) => {
      if (e.candidate) void b.addIceCandidate(e.candidate).catch(() => undefined);
    };
    b.onicecandidate = (e) => {
      if (e.candidate) void a.addIceCandidate(e.candidate).catch(() => undefined);
    };
    const stream = new wrtc.MediaStream() as unknown as MediaStream;
    a.addTrack(track, stream);
    const remote = new Promise<MediaStreamTrack>((resolve) => (b.ontrack = (e) => resolve(e.track)));
    const connected = new Promise<void>((resolve, reject) => {
      b.onconnectionstatechange = () => {
        if (b.connectionState === 'connected') resolve();
        if (b.connectionState === 'failed') reject(new Error('loopback pair: connection failed'));
      };
    });
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(offer);
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    await a.setRemoteDescription(answer);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>(
      (_, reject) =>
        (timer = setTimeout(
          () => reject(new Error(`loopback pair: not connected in ${timeoutMs} ms`)),
          timeoutMs,
        )),
    );
    const [remoteTrack] = await Promise.race([Promise.all([remote, connected]), timeout]).finally(() =>
      clearTimeout(timer),
    );
    return { a, b, remoteTrack, close };
  } catch (err) {
    close();
    throw err;
  }
}
