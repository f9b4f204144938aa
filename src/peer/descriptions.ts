/**
 * A peer connection's session descriptions as rtc-peer set them, and its candidates as they came, kept on
 * the JavaScript side: rtc-peer never reads `pc.localDescription` or `pc.remoteDescription` (nor their
 * `current`/`pending` forms) of a native peer connection. A lint rule holds the code to it.
 *
 * Why: in @roamhq/wrtc 0.10.0 those getters fetch a pointer to libwebrtc's description from the signaling
 * thread, then serialize the object on node's main thread with no lock, while the signaling thread goes on
 * changing it: it adds each candidate it gathers to the local description, and a new description (an ICE
 * restart, an answer) replaces and frees the one before. Two core dumps of issue 18 (vitest workers running
 * real calls, 2 of 17 runs of test/peer/) crashed there, both with the same frames:
 *
 *     #0 webrtc::SdpSerialize(webrtc::JsepSessionDescription const&)
 *     #1 webrtc::JsepSessionDescription::ToString(...)
 *     #2 node_webrtc::Converter<webrtc::SessionDescriptionInterface const*, ...>::Convert(...)
 *     #4 node_webrtc::RTCPeerConnection::GetLocalDescription(Napi::CallbackInfo const&)
 *
 * node-webrtc#696 reports the same frames ("after creating/closing several RTCPeerConnections"). The
 * negotiator read the local description right after setting it (to send it, candidates gathering meanwhile)
 * and on every candidate event (for the end of candidates): the call start where issue 18 saw `rtc-peer call`
 * die of SIGSEGV before its offer went.
 *
 * What is kept here is what those getters would have said: the SDP set (after libwebrtc accepted it), plus
 * the candidates gathered (from `icecandidate` events) and added (through {@link SessionDescriptions.addRemoteCandidate}).
 */
import { withCandidates } from '../signal/whip/session-description.js';

const byPc = new WeakMap<RTCPeerConnection, SessionDescriptions>();

/** A candidate as a description carries it: its `a=candidate` attribute and the media section it is for. */
export interface DescribedCandidate {
  /** `candidate:…`, as in the event (without `a=`). */
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
  /** The ICE generation (ufrag) it belongs to, when known. */
  usernameFragment: string | null;
}

export class SessionDescriptions {
  readonly #pc: RTCPeerConnection;
  #local: RTCSessionDescriptionInit | undefined;
  /** The local description before the last offer we set: what a rollback goes back to. */
  #stableLocal: RTCSessionDescriptionInit | undefined;
  #remote: RTCSessionDescriptionInit | undefined;
  #localCandidates: DescribedCandidate[] = [];
  #remoteCandidates: DescribedCandidate[] = [];

  /** The descriptions of `pc` (one record per peer connection, listening to its candidates from then on). */
  static of(pc: RTCPeerConnection): SessionDescriptions {
    let d = byPc.get(pc);
    if (d === undefined) {
      d = new SessionDescriptions(pc);
      byPc.set(pc, d);
    }
    return d;
  }

  private constructor(pc: RTCPeerConnection) {
    this.#pc = pc;
    pc.addEventListener('icecandidate', (event: RTCPeerConnectionIceEvent) => {
      const c = event.candidate;
      if (!c?.candidate) return; // the end of a gathering (said by the state, see caughtUp)
      this.#localCandidates.push({
        candidate: c.candidate,
        sdpMid: c.sdpMid,
        sdpMLineIndex: c.sdpMLineIndex,
        usernameFragment: c.usernameFragment ?? this.localUfrag ?? null,
      });
    });
  }

  /** The local description as set (without candidates), or undefined before one was. */
  get local(): string | undefined {
    return this.#local?.sdp;
  }

  /** The remote description as set (without the candidates added after it), or undefined before one was. */
  get remote(): string | undefined {
    return this.#remote?.sdp;
  }

  /** The ICE username fragment of our current local description. */
  get localUfrag(): string | undefined {
    return ufragOf(this.local);
  }

  /** The ICE username fragment of the remote description. */
  get remoteUfrag(): string | undefined {
    return ufragOf(this.remote);
  }

  /** Our candidates of the current ICE generation, in the order gathered. */
  get localCandidates(): readonly DescribedCandidate[] {
    const ufrag = this.localUfrag;
    return this.#localCandidates.filter((c) => c.usernameFragment === null || c.usernameFragment === ufrag);
  }

  /** Their candidates of the current ICE generation: those in the remote description and those added. */
  get remoteCandidates(): readonly DescribedCandidate[] {
    const ufrag = this.remoteUfrag;
    const inSdp = candidatesIn(this.remote);
    const added = this.#remoteCandidates.filter(
      (c) => c.usernameFragment === null || c.usernameFragment === ufrag,
    );
    return [...inSdp, ...added];
  }

  /** Sets the local description (or rolls it back), and keeps it once libwebrtc took it. */
  async setLocal(description: RTCSessionDescriptionInit): Promise<void> {
    const before = this.#local;
    await this.#pc.setLocalDescription(description);
    if (description.type === 'rollback') {
      this.#local = this.#stableLocal;
      return;
    }
    if (description.type === 'offer') this.#stableLocal = before;
    this.#local = { type: description.type, sdp: description.sdp ?? '' };
  }

  /** Sets the remote description, and keeps it once libwebrtc took it. */
  async setRemote(description: RTCSessionDescriptionInit): Promise<void> {
    await this.#pc.setRemoteDescription(description);
    if (ufragOf(description.sdp) !== this.remoteUfrag) this.#remoteCandidates = [];
    this.#remote = { type: description.type, sdp: description.sdp ?? '' };
  }

  /** Adds a remote candidate, and keeps it once libwebrtc took it. */
  async addRemoteCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    await this.#pc.addIceCandidate(candidate);
    if (!candidate.candidate) return;
    this.#remoteCandidates.push({
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid ?? null,
      sdpMLineIndex: candidate.sdpMLineIndex ?? null,
      usernameFragment: candidate.usernameFragment ?? this.remoteUfrag ?? null,
    });
  }

  /**
   * Whether every candidate libwebrtc gathered has come to us as an event. wrtc dispatches its events late
   * (queued on the native side, run by node's loop), so `iceGatheringState` can say `complete` while
   * candidates still wait in that queue (seen on a busy machine). The stats list what was gathered; a
   * candidate the other side's checks taught us (peer-reflexive) is never an event, so only host, srflx and
   * relay count.
   */
  async caughtUp(): Promise<boolean> {
    const have = new Set(this.#localCandidates.map((c) => candidateAddress(c.candidate)));
    const report = (await this.#pc.getStats()) as unknown as Map<string, Record<string, unknown>>;
    for (const s of report.values()) {
      if (s.type !== 'local-candidate') continue;
      if (s.candidateType !== 'host' && s.candidateType !== 'srflx' && s.candidateType !== 'relay') continue;
      const address = String(s.address ?? s.ip ?? '');
      if (!have.has(`${String(s.protocol ?? '').toLowerCase()} ${address} ${String(s.port ?? '')}`))
        return false;
    }
    return true;
  }

  /**
   * The local description with the candidates gathered for it, each in its media section, and
   * `a=end-of-candidates` when `complete`: what libwebrtc's `localDescription` shows (RFC 8839 section 5.1),
   * for a peer that takes no trickled candidates (a WHIP server).
   */
  localWithCandidates(complete: boolean): string {
    const sdp = this.local;
    if (sdp === undefined) throw new Error('the peer connection has no local description yet');
    return withCandidates(sdp, this.localCandidates, complete);
  }
}

/** A candidate's transport address, `protocol address port`, from its `candidate:` attribute. */
export function candidateAddress(candidate: string): string {
  const [, , protocol = '', , address = '', port = ''] = candidate.split(' ');
  return `${protocol.toLowerCase()} ${address} ${port}`;
}

const ufragOf = (sdp: string | undefined): string | undefined => /^a=ice-ufrag:(\S+)/m.exec(sdp ?? '')?.[1];

/** The `a=candidate` lines of a description. */
function candidatesIn(sdp: string | undefined): DescribedCandidate[] {
  const ufrag = ufragOf(sdp) ?? null;
  return [...(sdp ?? '').matchAll(/^a=(candidate:.+?)\r?$/gm)].map((m) => ({
    candidate: m[1] ?? '',
    sdpMid: null,
    sdpMLineIndex: null,
    usernameFragment: ufrag,
  }));
}
