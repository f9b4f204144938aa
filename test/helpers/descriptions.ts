/**
 * A raw wrtc peer connection's local description once gathering is over, for a test that passes descriptions
 * across without trickling candidates.
 *
 * `pc.localDescription` serializes libwebrtc's description on the main thread while the signaling thread may
 * still add candidates to it: SIGSEGV in `webrtc::SdpSerialize` (issue 18, src/peer/descriptions.ts; the
 * lint rule bans the getter). Once `iceGatheringState` reads `complete` (read live, from the signaling
 * thread), gathering has added its last candidate, and nothing changes the local description until the test
 * sets another one: then, and only then, the getter is safe.
 */
export async function gatheredLocalDescription(
  pc: RTCPeerConnection,
  timeoutMs = 10_000,
): Promise<RTCSessionDescriptionInit> {
  const deadline = performance.now() + timeoutMs;
  while (pc.iceGatheringState !== 'complete') {
    if (performance.now() > deadline) throw new Error(`gathering not complete after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // eslint-disable-next-line no-restricted-syntax -- gathering is over (see above)
  const d = pc.localDescription;
  if (d === null) throw new Error('no local description');
  return { type: d.type, sdp: d.sdp };
}
