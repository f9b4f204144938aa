/**
 * The WHEP client (the WHEP draft, RFC 9725's mechanics for egress): watches a WHEP endpoint (MediaMTX
 * `/NAME/whep`, go2rtc, `rtc-peer signal`'s `/whep/ROOM`). An answerer's {@link Signaling} that makes the
 * offer itself (capability `answererOffers`): the peer connection has receive-only transceivers, its offer is
 * POSTed, the server's answer sends us its media. See http-signaling.ts for what goes over the wire.
 *
 * @example
 * const signaling = new WhepSignaling({ url: 'http://127.0.0.1:8080/whep/lab' });
 * const negotiator = new Negotiator({
 *   signaling,
 *   createCall: () => new Call(...), // addTransceiver('video', { direction: 'recvonly' }), and audio
 * });
 * await negotiator.start();
 */
import { HttpSignaling, type HttpSignalingOptions } from './http-signaling.js';

/** Options of a {@link WhepSignaling}. */
export type WhepSignalingOptions = HttpSignalingOptions;

/** A WHEP client: the viewer side of a call whose other side is a WHEP server's session. */
export class WhepSignaling extends HttpSignaling {
  /** @throws TypeError on invalid options. */
  constructor(options: WhepSignalingOptions) {
    super('WHEP', options);
  }
}
