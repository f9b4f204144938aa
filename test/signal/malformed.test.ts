import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SignalServer } from '../../src/signal/index.js';
import {
  SignalTestKit,
  SocketRecorder,
  emitWithAck,
  fakeCandidate,
  fakeSdp,
  type RawSocket,
} from '../helpers/signal-server.js';

const kit = new SignalTestKit();
const SDP = fakeSdp('ok');

type Sender = 'caller' | 'answerer' | 'outsider';
interface Case {
  name: string;
  from?: Sender;
  message: unknown;
  code: string;
}

/** Each message is refused with `code`, reaches nobody, and the server carries on. */
const CASES: Case[] = [
  { name: 'null', message: null, code: 'BAD_MESSAGE' },
  { name: 'a string', message: 'hello', code: 'BAD_MESSAGE' },
  { name: 'a number', message: 42, code: 'BAD_MESSAGE' },
  { name: 'an array', message: [{ type: 'offer', sdp: SDP }], code: 'BAD_MESSAGE' },
  { name: 'binary junk', message: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]), code: 'BAD_MESSAGE' },
  { name: 'an empty object', message: {}, code: 'BAD_MESSAGE' },
  { name: 'an unknown type', message: { type: 'steal', sdp: SDP }, code: 'BAD_MESSAGE' },
  { name: 'a numeric type', message: { type: 7 }, code: 'BAD_MESSAGE' },
  { name: 'offer without sdp', message: { type: 'offer' }, code: 'BAD_MESSAGE' },
  { name: 'offer with a numeric sdp', message: { type: 'offer', sdp: 123 }, code: 'BAD_MESSAGE' },
  { name: 'offer with an object sdp', message: { type: 'offer', sdp: { a: { b: 1 } } }, code: 'BAD_MESSAGE' },
  { name: 'offer with an empty sdp', message: { type: 'offer', sdp: '' }, code: 'BAD_MESSAGE' },
  {
    name: 'offer with an extra field',
    message: { type: 'offer', sdp: SDP, target: 'everyone' },
    code: 'BAD_MESSAGE',
  },
  {
    name: 'offer to a member that is not there (protocol 2 addressing)',
    message: { type: 'offer', sdp: SDP, to: 'everyone' },
    code: 'NO_SUCH_PEER',
  },
  {
    name: 'offer over 64 KiB',
    message: { type: 'offer', sdp: 'v'.repeat(64 * 1024 + 1) },
    code: 'TOO_LARGE',
  },
  {
    name: 'offer over 64 KiB in multi-byte characters',
    message: { type: 'offer', sdp: 'é'.repeat(33 * 1024) },
    code: 'TOO_LARGE',
  },
  { name: 'candidate without candidate', message: { type: 'candidate' }, code: 'BAD_MESSAGE' },
  {
    name: 'candidate as a string',
    message: { type: 'candidate', candidate: 'candidate:1' },
    code: 'BAD_MESSAGE',
  },
  {
    name: 'candidate line over 1 KiB',
    message: { type: 'candidate', candidate: { candidate: 'c'.repeat(1025) } },
    code: 'TOO_LARGE',
  },
  {
    name: 'candidate with a negative sdpMLineIndex',
    message: { type: 'candidate', candidate: { candidate: 'candidate:1', sdpMLineIndex: -1 } },
    code: 'BAD_MESSAGE',
  },
  {
    name: 'candidate with a string sdpMLineIndex',
    message: { type: 'candidate', candidate: { candidate: 'candidate:1', sdpMLineIndex: '0' } },
    code: 'BAD_MESSAGE',
  },
  {
    name: 'join with an empty room',
    from: 'outsider',
    message: { type: 'join', room: '', role: 'caller' },
    code: 'BAD_MESSAGE',
  },
  {
    name: 'join with a 65-character room',
    from: 'outsider',
    message: { type: 'join', room: 'r'.repeat(65), role: 'caller' },
    code: 'BAD_MESSAGE',
  },
  {
    name: 'join with odd characters in the room',
    from: 'outsider',
    message: { type: 'join', room: '../etc passwd', role: 'caller' },
    code: 'BAD_MESSAGE',
  },
  {
    name: 'join with an unknown role',
    from: 'outsider',
    message: { type: 'join', room: 'm', role: 'boss' },
    code: 'BAD_MESSAGE',
  },
  {
    name: 'join without a role',
    from: 'outsider',
    message: { type: 'join', room: 'm' },
    code: 'BAD_MESSAGE',
  },
  { name: 'bye with a payload', message: { type: 'bye', everyone: true }, code: 'BAD_MESSAGE' },
  { name: 'an answer from the caller', message: { type: 'answer', sdp: SDP }, code: 'WRONG_ROLE' },
  {
    name: 'an offer from the answerer',
    from: 'answerer',
    message: { type: 'offer', sdp: SDP },
    code: 'WRONG_ROLE',
  },
  {
    name: 'an offer before join',
    from: 'outsider',
    message: { type: 'offer', sdp: SDP },
    code: 'NOT_JOINED',
  },
  {
    name: 'a candidate before join',
    from: 'outsider',
    message: { type: 'candidate', candidate: { candidate: 'candidate:1' } },
    code: 'NOT_JOINED',
  },
  { name: 'a second join', message: { type: 'join', room: 'other', role: 'caller' }, code: 'ALREADY_JOINED' },
];

describe('malformed messages', { timeout: 15_000 }, () => {
  let server: SignalServer;
  let sockets: Record<Sender, RawSocket>;
  let inbox: Record<Sender, SocketRecorder>;

  beforeEach(async () => {
    server = await kit.server();
    const [caller, answerer, outsider] = await Promise.all([
      kit.socket(server.url),
      kit.socket(server.url),
      kit.socket(server.url),
    ]);
    sockets = { caller, answerer, outsider };
    inbox = {
      caller: new SocketRecorder(caller),
      answerer: new SocketRecorder(answerer),
      outsider: new SocketRecorder(outsider),
    };
    expect(await emitWithAck(caller, { type: 'join', room: 'm', role: 'caller' })).toMatchObject({
      ok: true,
    });
    expect(await emitWithAck(answerer, { type: 'join', room: 'm', role: 'answerer' })).toMatchObject({
      ok: true,
    });
    await inbox.caller.wait(1, 'peer-joined');
  });
  afterEach(() => kit.closeAll());

  it(`refuses all ${CASES.length} malformed messages with a code, delivers none, and keeps serving`, async () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
    for (const c of CASES) {
      const ack = await emitWithAck(sockets[c.from ?? 'caller'], c.message);
      expect(ack, c.name).toMatchObject({ ok: false, error: { code: c.code } });
      expect(ack.ok === false && ack.error.message.length > 10, c.name).toBe(true);
    }
    // Nothing reached anyone but the caller's peer-joined from the setup. Sentinels, not a wait: the server
    // delivers to one connection in order, so anything the junk caused arrives before a message sent after it.
    // The server is alive and the room still works: the caller's offer reaches the answerer...
    expect(await emitWithAck(sockets.caller, { type: 'offer', sdp: SDP })).toEqual({
      ok: true,
      delivered: true,
    });
    expect(await inbox.answerer.wait(1)).toEqual([{ type: 'offer', sdp: SDP }]);
    // ... the answerer's candidate reaches the caller...
    const candidate = fakeCandidate(1);
    expect(await emitWithAck(sockets.answerer, { type: 'candidate', candidate })).toEqual({
      ok: true,
      delivered: true,
    });
    expect(await inbox.caller.wait(2)).toEqual([
      { type: 'peer-joined', role: 'answerer' },
      { type: 'candidate', candidate },
    ]);
    // ... and the outsider, in no room, gets the ack of one more refused message and nothing else.
    expect(await emitWithAck(sockets.outsider, { type: 'bye' })).toMatchObject({ ok: false });
    expect(inbox.outsider.messages).toEqual([]);
    expect(server.stats()).toMatchObject({ rooms: 1, clients: 3 });
  });

  it('a malformed message without an ack function gets an error message pushed instead', async () => {
    sockets.caller.emit('signal', { type: 'offer', sdp: 5 });
    sockets.caller.emit('signal', Buffer.from('junk'));
    const errors = await inbox.caller.wait(2, 'error');
    expect(errors).toEqual([
      { type: 'error', code: 'BAD_MESSAGE', message: expect.stringMatching(/at sdp/) },
      { type: 'error', code: 'BAD_MESSAGE', message: expect.stringMatching(/must be a JSON object/) },
    ]);
    // Sentinel: a good offer, sent after the junk, is the first thing the answerer gets.
    await emitWithAck(sockets.caller, { type: 'offer', sdp: SDP });
    expect(await inbox.answerer.wait(1)).toEqual([{ type: 'offer', sdp: SDP }]);
  });

  it('events other than "signal" are refused with UNKNOWN_EVENT', async () => {
    const ack = (await sockets.caller.timeout(3000).emitWithAck('offer', { sdp: SDP })) as unknown;
    expect(ack).toMatchObject({ ok: false, error: { code: 'UNKNOWN_EVENT' } });
    expect(await emitWithAck(sockets.caller, { type: 'offer', sdp: SDP })).toEqual({
      ok: true,
      delivered: true,
    });
    // Sentinel: the good offer, sent after, is the first thing the answerer gets.
    expect(await inbox.answerer.wait(1)).toEqual([{ type: 'offer', sdp: SDP }]);
  });

  it('a packet over maxHttpBufferSize closes only that connection', async () => {
    const closed = new Promise<string>((resolve) => sockets.outsider.once('disconnect', resolve));
    sockets.outsider.emit('signal', { type: 'offer', sdp: 'x'.repeat(300 * 1024) });
    expect(await closed).toMatch(/transport/);
    expect(await emitWithAck(sockets.caller, { type: 'offer', sdp: SDP })).toEqual({
      ok: true,
      delivered: true,
    });
    expect(await inbox.answerer.wait(1)).toEqual([{ type: 'offer', sdp: SDP }]);
  });
});
