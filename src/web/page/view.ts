/**
 * The page's DOM: its status line, log, stats table, viewers list and buttons, and `window.rtcPeer`, the
 * live state tests and curious users read. Everything the page shows goes through here.
 */
import type { CallStats, StreamFigures } from '../../peer/call-stats.js';

/** The page's live state, on `window.rtcPeer` (and `document.body.dataset.state` mirrors `state`). */
export interface PageState {
  role: 'caller' | 'answerer';
  room: string;
  /** starting, connecting, waiting, connected, error, closed (and the connection's own states in between). */
  state: string;
  /** Calls so far (a caller: viewers served; a viewer: calls watched). */
  calls: number;
  /** The figures of the call shown (a viewer's call; a caller's first connected viewer). */
  stats: PageStats | null;
  /** Caller: each viewer's id, connection state and figures. */
  viewers: { id: string; state: string; stats: PageStats | null }[];
  /** The peer connection shown (for tests): the viewer's call, or the caller's first call or spare. */
  pc: RTCPeerConnection | null;
  /** Data channel messages, sent and received (the last 500). */
  data: { direction: '>' | '<'; text: string; from?: string }[];
  log: string[];
}

/** The figures of a call as the page shows them: each kind and direction, and the round trip. */
export interface PageStats {
  inbound: (Video & { framesDecoded: number }) | null;
  outbound: (Video & { framesSent: number }) | null;
  audioIn: { kbps: number | null; packetsReceived: number; totalAudioEnergy: number } | null;
  audioOut: { kbps: number | null; packetsSent: number } | null;
  rttMs: number | null;
  route: string | null;
}

interface Video {
  width: number;
  height: number;
  fps: number;
  kbps: number | null;
  packetsLost: number | null;
}

/** The page's view of the shared summary. */
export function pageStats(s: CallStats): PageStats {
  const video = (f: StreamFigures | undefined): Video | null =>
    f === undefined
      ? null
      : {
          width: f.width ?? 0,
          height: f.height ?? 0,
          fps: f.fps ?? 0,
          kbps: round(f.kbps),
          packetsLost: f.packetsLost,
        };
  const vin = video(s.streams.videoIn);
  const vout = video(s.streams.videoOut);
  const ain = s.streams.audioIn;
  const aout = s.streams.audioOut;
  return {
    inbound: vin && { ...vin, framesDecoded: s.streams.videoIn?.frames ?? 0 },
    outbound: vout && { ...vout, framesSent: s.streams.videoOut?.frames ?? 0 },
    audioIn: ain
      ? { kbps: round(ain.kbps), packetsReceived: ain.packets, totalAudioEnergy: ain.totalAudioEnergy ?? 0 }
      : null,
    audioOut: aout ? { kbps: round(aout.kbps), packetsSent: aout.packets } : null,
    rttMs: s.rttMs === undefined ? null : Math.round(s.rttMs),
    route: s.route ?? null,
  };
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v);
}

/** The page's DOM and state. */
export class PageView {
  readonly state: PageState;

  constructor(role: 'caller' | 'answerer', room: string) {
    this.state = {
      role,
      room,
      state: 'starting',
      calls: 0,
      stats: null,
      viewers: [],
      pc: null,
      data: [],
      log: [],
    };
    (window as unknown as { rtcPeer: PageState }).rtcPeer = this.state;
    this.#el('who').textContent =
      `room ${room}, ${role === 'caller' ? 'calling with this camera' : 'watching'}`;
  }

  /** An element of the page by id (the page's HTML has them all). */
  #el<T extends HTMLElement = HTMLElement>(id: string): T {
    const e = document.getElementById(id);
    if (e === null) throw new Error(`the page has no #${id}`);
    return e as T;
  }

  get remoteVideo(): HTMLVideoElement {
    return this.#el<HTMLVideoElement>('remote');
  }

  get localVideo(): HTMLVideoElement {
    return this.#el<HTMLVideoElement>('local');
  }

  log(text: string): void {
    const line = `${new Date().toISOString().slice(11, 23)} ${text}`;
    this.state.log.push(line);
    if (this.state.log.length > 200) this.state.log.shift();
    const item = document.createElement('li');
    item.textContent = line;
    const list = this.#el('log');
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 30) list.lastChild?.remove();
  }

  setState(name: string, text?: string): void {
    this.state.state = name;
    document.body.dataset.state = name;
    this.#el('status').textContent = text ?? name;
  }

  fail(text: string): void {
    this.setState('error', text);
    this.log(`error: ${text}`);
  }

  setConnection(text: string): void {
    this.#el('connection').textContent = text;
  }

  setHangupEnabled(enabled: boolean): void {
    this.#el<HTMLButtonElement>('hangup').disabled = !enabled;
  }

  onHangup(handler: () => void): void {
    this.#el<HTMLButtonElement>('hangup').onclick = handler;
  }

  /**
   * The data channel's controls: typed text is sent on Enter or Send; arrow keys while the video has focus
   * send `{"key":"ArrowUp"}`-style commands.
   */
  onSend(handler: (text: string) => void): void {
    const input = this.#el<HTMLInputElement>('data-input');
    this.#el<HTMLFormElement>('data-form').addEventListener('submit', (event) => {
      event.preventDefault();
      if (input.value === '') return;
      handler(input.value);
      input.value = '';
    });
    this.remoteVideo.addEventListener('keydown', (event) => {
      if (!event.key.startsWith('Arrow')) return;
      event.preventDefault();
      handler(JSON.stringify({ key: event.key }));
    });
  }

  setDataEnabled(enabled: boolean): void {
    this.#el<HTMLInputElement>('data-input').disabled = !enabled;
    this.#el<HTMLButtonElement>('data-send').disabled = !enabled;
  }

  /** A data message, sent (`>`) or received (`<`, with whose it is). */
  showData(direction: '>' | '<', text: string, from?: string): void {
    this.state.data.push({ direction, text, ...(from !== undefined ? { from } : {}) });
    if (this.state.data.length > 500) this.state.data.shift();
    const item = document.createElement('li');
    item.textContent = `${direction} ${from !== undefined ? `[${from.slice(0, 6)}] ` : ''}${text}`;
    const list = this.#el('data-log');
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 50) list.lastChild?.remove();
  }

  /** Our own camera takes the big spot until (unless) video comes back. */
  setSolo(solo: boolean): void {
    this.#el('videos').classList.toggle('solo', solo);
  }

  /** Plays the remote video with sound; where autoplay with sound is refused, muted with an Unmute button. */
  play(): void {
    const video = this.remoteVideo;
    const unmute = this.#el<HTMLButtonElement>('unmute');
    video.play().catch(() => {
      video.muted = true;
      unmute.hidden = false;
      return video.play().catch(() => undefined);
    });
    unmute.onclick = () => {
      video.muted = false;
      unmute.hidden = true;
      this.play();
    };
  }

  /** Shows a call's figures in the table. */
  showStats(stats: PageStats | null): void {
    this.state.stats = stats;
    const dash = (v: number | null | undefined, unit = ''): string =>
      v === null || v === undefined ? '-' : `${v}${unit}`;
    const row = (prefix: 'in' | 'out', v: (Video & { frames: number }) | null): void => {
      this.#el(`${prefix}-resolution`).textContent = v && v.width ? `${v.width}x${v.height}` : '-';
      this.#el(`${prefix}-fps`).textContent = v ? dash(Math.round(v.fps * 10) / 10) : '-';
      this.#el(`${prefix}-bitrate`).textContent = v ? dash(v.kbps, ' kbit/s') : '-';
      this.#el(`${prefix}-frames`).textContent = v ? dash(v.frames) : '-';
      this.#el(`${prefix}-lost`).textContent = v ? dash(v.packetsLost) : '-';
    };
    row('in', stats?.inbound ? { ...stats.inbound, frames: stats.inbound.framesDecoded } : null);
    row('out', stats?.outbound ? { ...stats.outbound, frames: stats.outbound.framesSent } : null);
    const audio = (a: { kbps: number | null } | null | undefined): string =>
      a ? (a.kbps === null ? '-' : `${a.kbps} kbit/s`) : 'none';
    this.#el('in-audio').textContent = audio(stats?.audioIn);
    this.#el('out-audio').textContent = audio(stats?.audioOut);
    this.#el('rtt').textContent =
      stats?.rttMs == null ? '-' : `${stats.rttMs} ms${stats.route ? ` via ${stats.route}` : ''}`;
  }

  /** Caller: the viewers and their states. */
  showViewers(viewers: PageState['viewers']): void {
    this.state.viewers = viewers;
    const list = this.#el('viewers');
    list.hidden = this.state.role !== 'caller';
    list.replaceChildren(
      ...viewers.map((v) => {
        const item = document.createElement('li');
        const fps = v.stats?.outbound ? `, ${Math.round(v.stats.outbound.fps)} fps` : '';
        item.textContent = `viewer ${v.id.slice(0, 6)}: ${v.state}${fps}`;
        return item;
      }),
    );
  }
}
