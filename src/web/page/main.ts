/**
 * The browser page, served by `rtc-peer signal` at `/`: a camera (`?role=call`) or a viewer of a room, in
 * protocol 2, with the same signaling client (signal/room-signaling.ts) and the same negotiation rules
 * (peer/negotiator.ts) as the Node peer. Several tabs can watch one camera; a calling page serves several
 * viewers, each on its own peer connection. See params.ts for the URL parameters and view.ts for
 * `window.rtcPeer`.
 */
import { Negotiator } from '../../peer/negotiator.js';
import { RoomSignaling } from '../../signal/room-signaling.js';
import type { RemotePeer } from '../../signal/signaling.js';
import { PageCall } from './page-call.js';
import { readPageParams, type PageParams } from './params.js';
import { PageView, pageStats } from './view.js';

const params = readPageParams(window.location);
// The token is a secret: out of the address bar (and so of the history) once read.
if (params.token !== undefined && /[?&#]token=/.test(window.location.href)) {
  const url = new URL(window.location.href);
  url.searchParams.delete('token');
  url.hash = '';
  window.history.replaceState(null, '', url);
}
const view = new PageView(params.role, params.room);

async function getLocalStream(p: PageParams): Promise<MediaStream> {
  const media = navigator.mediaDevices as MediaDevices | undefined;
  if (!media) throw new Error('no camera access: open this page over https or on localhost');
  const video = { width: { ideal: p.width }, height: { ideal: p.height }, frameRate: { ideal: p.fps } };
  let stream: MediaStream;
  try {
    stream = await media.getUserMedia({ video, audio: true });
  } catch (error) {
    view.log(`camera and microphone: ${(error as Error).name}; trying the camera alone`);
    stream = await media.getUserMedia({ video });
  }
  for (const track of stream.getTracks()) {
    const s = track.getSettings();
    view.log(`local ${track.kind}: ${track.label}${s.width ? ` ${s.width}x${s.height}@${s.frameRate}` : ''}`);
  }
  return stream;
}

async function run(): Promise<void> {
  let local: MediaStream | undefined;
  if (params.role === 'caller') {
    view.setState('starting', 'opening the camera');
    local = await getLocalStream(params);
    view.localVideo.srcObject = local;
    view.localVideo.hidden = false;
    view.setSolo(true);
  }
  const signaling = new RoomSignaling({
    url: window.location.origin,
    role: params.role,
    room: params.room,
    token: params.token,
  });
  /** Our calls, with their peers, newest last. */
  const calls = new Map<PageCall, { peer?: RemotePeer; gone: boolean }>();
  let hungUp = false;

  const shown = (): PageCall | undefined => {
    const owned = [...calls.keys()].filter((c) => calls.get(c)?.peer !== undefined);
    return owned.find((c) => c.pc.connectionState === 'connected') ?? owned[0];
  };
  const refresh = (): void => {
    const show = shown();
    view.state.pc = show?.pc ?? [...calls.keys()].at(-1)?.pc ?? null;
    view.showStats(show?.latest ? pageStats(show.latest) : null);
    view.showViewers(
      [...calls.entries()]
        .filter(([, v]) => v.peer !== undefined)
        .map(([c, v]) => ({
          id: v.peer?.id ?? '',
          state: c.pc.connectionState,
          stats: c.latest ? pageStats(c.latest) : null,
        })),
    );
    if (hungUp || view.state.state === 'error') return;
    const connected = [...calls.keys()].filter(
      (c) => calls.get(c)?.peer && c.pc.connectionState === 'connected',
    );
    if (connected.length > 0) {
      view.setState(
        'connected',
        params.role === 'caller'
          ? `connected: ${connected.length} viewer(s)`
          : `connected: call ${view.state.calls}`,
      );
      view.setConnection('connected');
      view.setHangupEnabled(true);
    } else if (
      params.role === 'caller' &&
      calls.size > 0 &&
      [...calls.values()].every((v) => v.peer === undefined)
    ) {
      view.setState('waiting', `waiting for a viewer in room ${params.room}`);
    } else if ([...calls.values()].some((v) => v.peer !== undefined)) {
      view.setState('connecting', `call ${view.state.calls}: connecting`);
    } else {
      view.setState(
        'waiting',
        params.role === 'caller'
          ? `waiting for a viewer in room ${params.room}`
          : `waiting for a caller in room ${params.room}`,
      );
    }
  };
  const end = (call: PageCall, why: string): void => {
    if (!calls.has(call)) return;
    negotiator.forget(call);
    calls.delete(call);
    call.close();
    view.log(`call ended (${why})`);
    if (view.remoteVideo.srcObject === call.remote) view.remoteVideo.srcObject = null;
    if (params.role === 'caller') view.setSolo(true);
    refresh();
  };

  const negotiator = new Negotiator<PageCall>({
    signaling,
    createCall: (peer) => {
      const call: PageCall = new PageCall({
        iceServers: params.iceServers,
        local,
        onStats: () => refresh(),
        onTrack: (stream, track) => {
          view.log(`remote ${track.kind} track`);
          // The first call that sends something back has the big spot.
          // (Assigned once: even the same stream again reloads the element, which aborts the pending play()
          // and, taken for a refused autoplay, would mute it.)
          if (view.remoteVideo.srcObject === null) view.remoteVideo.srcObject = stream;
          if (view.remoteVideo.srcObject === stream) {
            if (track.kind === 'video') view.setSolo(false);
            view.play();
          }
        },
        openData: params.role === 'caller',
        onData: (link) => {
          link.on('open', () => {
            view.log('data channel open');
            view.setDataEnabled(true);
          });
          link.on('message', (text) =>
            view.showData('<', text, params.role === 'caller' ? calls.get(call)?.peer?.id : undefined),
          );
          link.on('dropped', (n, total) =>
            view.log(`data: ${n} message(s) dropped (${total} so far): the channel is not keeping up`),
          );
        },
        onState: (state) => {
          view.log(`connection ${state}`);
          // The peer dropped off the signaling, and now the connection goes too: it is gone.
          if (calls.get(call)?.gone && (state === 'disconnected' || state === 'failed'))
            end(call, 'peer vanished');
          refresh();
        },
      });
      calls.set(call, { peer, gone: false });
      return call;
    },
  });
  negotiator.on('call', (call, peer) => {
    const entry = calls.get(call);
    if (entry) entry.peer = peer;
    view.state.calls += 1;
    if (params.role === 'caller') view.log(`viewer ${peer.id.slice(0, 6)} joined`);
    refresh();
  });
  negotiator.on('step', (_call, step) => {
    if (step === 'offer-held') view.log('offer held by the server until a viewer joins');
    else view.log(step.replace('-', ' '));
    refresh();
  });
  negotiator.on('ended', (call, reason) => end(call, reason));
  negotiator.on('peer-gone', (call) => {
    const entry = calls.get(call);
    if (!entry) return;
    entry.gone = true;
    view.log('the other side dropped off the signaling server');
    // It may come back; its media decides.
    if (call.pc.connectionState !== 'connected') end(call, 'peer vanished');
  });
  negotiator.on('peer-back', (call) => {
    const entry = calls.get(call);
    if (entry) entry.gone = false;
  });
  negotiator.on('restart', (_call, why) => view.log(`ICE restart (${why})`));
  negotiator.on('signal-lost', (reason) => view.log(`signaling lost (${reason}), reconnecting`));
  negotiator.on('signal-rejoined', (resent) => {
    view.log(`rejoined room ${params.room}`);
    if (resent > 0) view.log(`re-sent the held offer and its candidates (${resent} messages)`);
  });
  negotiator.on('warning', (message) => view.log(message));

  view.onHangup(() => {
    hungUp = true;
    negotiator.close();
    for (const call of calls.keys()) call.close();
    calls.clear();
    local?.getTracks().forEach((t) => t.stop());
    void signaling.close();
    view.setHangupEnabled(false);
    view.setState('closed', 'hung up; reload the page to call again');
    view.log('hung up');
  });
  window.addEventListener('pagehide', () => void signaling.close());
  // To every call that has a data channel: a camera's messages go to each of its viewers.
  view.onSend((text) => {
    let sent = 0;
    for (const [call, entry] of calls) {
      if (entry.peer === undefined || call.data === undefined) continue;
      try {
        call.data.send(text);
        sent++;
      } catch (error) {
        view.log(`data: ${(error as Error).message}`);
        return;
      }
    }
    if (sent > 0) view.showData('>', text);
    else view.log('data: no call with a data channel to send to');
  });

  view.setState('connecting', 'connecting to the signaling server');
  await negotiator.start();
  view.log(`joined room ${params.room} as ${params.role}`);
  refresh();
}

run().catch((error: unknown) => view.fail(error instanceof Error ? error.message : String(error)));
