/**
 * The page's URL parameters, read once. Pure: a URL in, the options out.
 *
 * - `room` (default `default`);
 * - `role=call` (or `caller`): this browser is the camera, with its camera and microphone; default: watch;
 * - `token`: the server's shared secret (in the fragment, `#token=...`, it stays out of logs and history);
 * - no ICE servers: a link must not choose them (a STUN server of the link's author would learn the
 *   viewer's address); the page uses those the server hands out in its join ack (a server started with
 *   --turn-url: its TURN server with expiring credentials), which the negotiator adds before gathering;
 * - `size` (`WxH`, default 640x480) and `fps` (default 30): what to ask of the camera.
 */

/** What the page was asked to do. */
export interface PageParams {
  room: string;
  role: 'caller' | 'answerer';
  token: string | undefined;
  iceServers: RTCIceServer[];
  width: number;
  height: number;
  fps: number;
}

/** Reads the page's options from its location (query and fragment). */
export function readPageParams(location: { search: string; hash: string }): PageParams {
  const query = new URLSearchParams(location.search);
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  const role = query.get('role');
  const size = /^(\d+)x(\d+)$/.exec(query.get('size') ?? '') ?? [null, '640', '480'];
  const fps = Number(query.get('fps'));
  return {
    room: query.get('room') || 'default',
    role: role === 'call' || role === 'caller' ? 'caller' : 'answerer',
    token: fragment.get('token') ?? query.get('token') ?? undefined,
    iceServers: [],
    width: Number(size[1]),
    height: Number(size[2]),
    fps: fps > 0 ? fps : 30,
  };
}
