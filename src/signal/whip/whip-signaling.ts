/**
 * The WHIP client (RFC 9725): publishes our media to a WHIP endpoint (MediaMTX `/NAME/whip`, Janus through
 * simple-whip-server, LiveKit ingress, Cloudflare Stream, `rtc-peer signal`'s `/whip/ROOM`). A caller's
 * {@link Signaling}: see http-signaling.ts for what goes over the wire.
 *
 * @example
 * const signaling = new WhipSignaling({ url: 'http://127.0.0.1:8889/cam/whip', token });
 * const negotiator = new Negotiator({ signaling, createCall: () => new Call(...) }); // sends our tracks
 * await negotiator.start();   // resolves once the server created the session
 * // ...
 * negotiator.close();
 * await signaling.close();    // DELETE of the session
 */
import { HttpSignaling, type HttpSignalingOptions } from './http-signaling.js';

/** Options of a {@link WhipSignaling}. */
export type WhipSignalingOptions = HttpSignalingOptions;

/** A WHIP client: the caller side of a call whose other side is a WHIP server's session. */
export class WhipSignaling extends HttpSignaling {
  /** @throws TypeError on invalid options. */
  constructor(options: WhipSignalingOptions) {
    super('WHIP', options);
  }
}
