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
  /** Candidates a side refused (`addIceCandidate` rejected), with why; assert it stays empty. */
  candidateErrors: string[];
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
  // A refused candidate is a failure of the test, not something to swallow: the pair would still connect
  // on peer-reflexive addresses learned from the checks, and hide it.
  const candidateErrors: string[] = [];
  let refused: (error: Error) => void = () => undefined;
  const candidateRefused = new Promise<never>((_, reject) => (refused = reject));
  candidateRefused.catch(() => undefined); // observed by the race below, or by candidateErrors later
  const hand = (from: string, to: RTCPeerConnection, candidate: RTCIceCandidate): void => {
    to.addIceCandidate(candidate).catch((error: unknown) => {
      candidateErrors.push(`${from} ${candidate.candidate}: ${String(error)}`);
      refused(new Error(`loopback pair: a candidate from ${from} was refused: ${candidateErrors.at(-1)}`));
    });
  };
  try {
    a.onicecandidate = (e) => {
      if (e.candidate) hand('a', b, e.candidate);
    };
    b.onicecandidate = (e) => {
      if (e.candidate) hand('b', a, e.candidate);
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
    const [remoteTrack] = await Promise.race([
      Promise.all([remote, connected]),
      timeout,
      candidateRefused,
    ]).finally(() => clearTimeout(timer));
    return { a, b, remoteTrack, candidateErrors, close };
  } catch (err) {
    close();
    throw err;
  }
}
