/**
 * The page's script, served at `/rtc-peer.js`: a plain browser script (no build step, no framework) that
 * speaks the signaling protocol of docs/protocol.md over the Socket.IO client bundle, exactly like the Node
 * peer does: `join`, then the caller's offer (held by the server until an answerer joins), the answer,
 * trickled candidates and `bye`. It is kept in a string so the build (tsc) ships it inside dist/ with nothing
 * to copy; it must stay free of backticks and dollar-brace sequences.
 *
 * URL parameters: `room` (default `default`), `role=call` (be the caller with this browser's camera and
 * microphone; default: answerer, watch only), `token` (the server's shared secret), `stun` (repeatable STUN/TURN
 * URL; default none, host candidates only), `size` (WxH asked of the camera, default 640x480), `fps` (default 30).
 *
 * For tests and curious users, `window.rtcPeer` holds the live state: `{ role, room, state, calls, stats,
 * pc, log }`, and `document.body.dataset.state` mirrors `state`.
 */

/** The browser script of the page. */
export const PAGE_SCRIPT = String.raw`(function () {
  'use strict';

  var params = new URLSearchParams(location.search);
  var room = params.get('room') || 'default';
  var role = params.get('role') === 'call' || params.get('role') === 'caller' ? 'caller' : 'answerer';
  var token = params.get('token');
  var iceServers = params.getAll('stun').filter(Boolean).map(function (url) { return { urls: url }; });
  var size = /^(\d+)x(\d+)$/.exec(params.get('size') || '640x480') || [null, '640', '480'];
  var fps = Number(params.get('fps')) || 30;

  var el = function (id) { return document.getElementById(id); };
  var remoteVideo = el('remote');
  var localVideo = el('local');

  /** Live state, for tests and the curious (see the module comment). */
  var state = {
    role: role,
    room: room,
    state: 'starting',
    calls: 0,
    stats: null,
    pc: null,
    log: [],
  };
  window.rtcPeer = state;

  var pc = null;
  var localStream = null;
  var pendingCandidates = [];
  var ops = Promise.resolve();
  var hungUp = false;
  var peerGone = false;
  var statsTimer = 0;
  var previousSample = null;
  // What this call sent and got, for the re-sends after a signaling reconnect (docs/protocol.md, Reconnection).
  var current = { offerSdp: null, answerSdp: null, sentCandidates: [], receivedCandidates: {} };
  var joinedOnce = false;
  var rejoinAttempts = 0;

  function log(text) {
    var line = new Date().toISOString().slice(11, 23) + ' ' + text;
    state.log.push(line);
    if (state.log.length > 200) state.log.shift();
    var item = document.createElement('li');
    item.textContent = line;
    var list = el('log');
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 30) list.removeChild(list.lastChild);
  }

  function setState(name, text) {
    state.state = name;
    document.body.dataset.state = name;
    el('status').textContent = text || name;
  }

  function fail(text) {
    setState('error', text);
    log('error: ' + text);
  }

  /** Runs connection operations in arrival order: a candidate waits for the description before it. */
  function enqueue(operation) {
    ops = ops.then(operation).catch(function (error) {
      fail(String(error && error.message ? error.message : error));
    });
    return ops;
  }

  el('who').textContent = 'room ' + room + ', ' + (role === 'caller' ? 'calling with this camera' : 'watching');

  if (typeof io !== 'function') {
    fail('the Socket.IO client did not load (vendor/socket.io.min.js); is this page served by rtc-peer signal?');
    return;
  }
  // Reconnect as the Node client does: 250 ms doubling to 2 s (docs/protocol.md, Reconnection).
  var socket = io({ auth: token ? { token: token } : {}, reconnectionDelay: 250, reconnectionDelayMax: 2000 });

  function send(message) {
    return socket.timeout(5000).emitWithAck('signal', message).then(function (ack) {
      if (!ack || !ack.ok) {
        var error = ack && ack.error ? ack.error.code + ': ' + ack.error.message : 'no ack';
        throw new Error('the server refused ' + message.type + ': ' + error);
      }
      return ack;
    });
  }

  socket.on('connect', function () {
    log('signaling connected');
    join();
  });

  function join() {
    if (hungUp || !socket.connected) return;
    send({ type: 'join', room: room, role: role }).then(
      function (ack) {
        var rejoin = joinedOnce;
        joinedOnce = true;
        rejoinAttempts = 0;
        log((rejoin ? 'rejoined' : 'joined') + ' room ' + room + ' as ' + role + (ack.peerPresent ? ' (peer present)' : ''));
        if (hungUp) return;
        if (role === 'answerer') {
          // Step 2 of the reconnection rules: the answerer sends nothing; the held offer (if any) follows the ack.
          if (!pc) setState('waiting', 'waiting for a caller in room ' + room);
          return;
        }
        if (!pc) return enqueue(startCall);
        // The server forgot our unanswered offer with our membership: send it again with its candidates.
        // An answered call runs peer to peer and is left alone.
        if (rejoin && !pc.remoteDescription && current.offerSdp) enqueue(resendOffer);
      },
      function (error) {
        // Step 2: ROLE_TAKEN on a rejoin is usually our own old connection the server has not dropped yet.
        if (joinedOnce && /ROLE_TAKEN/.test(error.message) && rejoinAttempts < 60) {
          rejoinAttempts += 1;
          log('role still held by our old connection; retrying');
          setTimeout(join, 1000);
          return;
        }
        fail(error.message);
        socket.disconnect();
      },
    );
  }

  socket.on('connect_error', function (error) {
    // While a call runs peer to peer, a lost signaling server is worth a log line, not an error state.
    if (joinedOnce && !/^UNAUTHORIZED/.test(error.message)) log('signaling server unreachable, retrying: ' + error.message);
    else fail('cannot reach the signaling server: ' + error.message);
  });
  socket.on('disconnect', function (reason) {
    if (hungUp) return;
    log('signaling lost (' + reason + '), reconnecting');
    // Socket.IO reconnects by itself after a transport loss, not after the server closed the connection.
    if (reason === 'io server disconnect') setTimeout(function () { socket.connect(); }, 500);
  });

  socket.on('signal', function (message) {
    if (!message || typeof message.type !== 'string') return;
    switch (message.type) {
      case 'offer':
        if (role !== 'answerer') return log('ignored an offer: this page is the caller');
        if (pc && message.sdp === current.offerSdp) {
          // The caller's re-send after a reconnect: not a new call. Answer again if we had answered.
          log('offer re-sent by the caller');
          enqueue(resendAnswer);
          return;
        }
        log('offer received');
        // Its candidates follow at once, before answerCall runs: start their de-duplication here.
        current.offerSdp = message.sdp;
        current.receivedCandidates = {};
        enqueue(function () { return answerCall(message.sdp); });
        return;
      case 'answer':
        if (role !== 'caller') return log('ignored an answer: this page is the answerer');
        log('answer received');
        enqueue(function () { return acceptAnswer(message.sdp); });
        return;
      case 'candidate':
        var key = JSON.stringify(message.candidate);
        if (current.receivedCandidates[key]) return; // a re-send after a reconnect
        current.receivedCandidates[key] = true;
        enqueue(function () { return addCandidate(message.candidate); });
        return;
      case 'peer-joined':
        log((message.role === 'caller' ? 'caller' : 'answerer') + ' joined');
        peerGone = false;
        // A live call means the answerer came back (its reconnect, or a restarted server): leave it alone.
        if (!pc || pc.connectionState === 'connected') return;
        // An answered offer is not held for a new answerer: the caller starts a new call for it.
        if (role === 'caller' && pc.remoteDescription && !hungUp) enqueue(startCall);
        return;
      case 'peer-left':
        log((message.role === 'caller' ? 'caller' : 'answerer') + ' left (' + message.reason + ')');
        // After a peer-left, an identical offer is a new call.
        current.offerSdp = null;
        if (message.reason === 'bye' || !pc || pc.connectionState !== 'connected') enqueue(callEnded);
        else peerGone = true; // it may come back; the connection state decides
        return;
      case 'error':
        fail('signaling server: ' + message.code + ': ' + message.message);
        return;
    }
  });

  function getLocalStream() {
    if (localStream) return Promise.resolve(localStream);
    var video = { width: { ideal: Number(size[1]) }, height: { ideal: Number(size[2]) }, frameRate: { ideal: fps } };
    var media = navigator.mediaDevices;
    if (!media) return Promise.reject(new Error('no camera access: open this page over https or on localhost'));
    return media
      .getUserMedia({ video: video, audio: true })
      .catch(function (error) {
        log('camera and microphone: ' + error.name + '; trying the camera alone');
        return media.getUserMedia({ video: video });
      })
      .then(function (stream) {
        localStream = stream;
        localVideo.srcObject = stream;
        localVideo.hidden = false;
        // Until (unless) the answerer sends video back, our own camera takes the big spot.
        el('videos').classList.add('solo');
        stream.getTracks().forEach(function (track) {
          var s = track.getSettings();
          log('local ' + track.kind + ': ' + track.label + (s.width ? ' ' + s.width + 'x' + s.height + '@' + s.frameRate : ''));
        });
        return stream;
      });
  }

  function newConnection() {
    closeCall();
    state.calls += 1;
    peerGone = false;
    previousSample = null;
    state.stats = null;
    var received = role === 'answerer' ? current.receivedCandidates : {};
    current = { offerSdp: null, answerSdp: null, sentCandidates: [], receivedCandidates: received };
    var connection = new RTCPeerConnection({ iceServers: iceServers });
    pc = connection;
    state.pc = connection;
    connection.onicecandidate = function (event) {
      var c = event.candidate;
      // A null or empty candidate marks the end of gathering: nothing to send in this protocol.
      if (connection !== pc || !c || !c.candidate) return;
      var candidate = { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
      if (current.sentCandidates.length < 200) current.sentCandidates.push(candidate);
      send({ type: 'candidate', candidate: candidate }).catch(function (error) { log(error.message); });
    };
    connection.onconnectionstatechange = function () {
      if (connection !== pc) return;
      var s = connection.connectionState;
      el('connection').textContent = s;
      log('connection ' + s);
      if (s === 'connected') {
        setState('connected', 'connected: call ' + state.calls);
        el('hangup').disabled = false;
      } else if (s === 'failed') {
        enqueue(callEnded);
      } else if (s === 'disconnected' && peerGone) {
        enqueue(callEnded);
      } else if (s !== 'closed') {
        setState(s, 'call ' + state.calls + ': ' + s);
      }
    };
    // One stream for the element, however the sender grouped its tracks: its audio plays with its video.
    var remoteStream = new MediaStream();
    connection.ontrack = function (event) {
      if (connection !== pc) return;
      log('remote ' + event.track.kind + ' track');
      remoteStream.addTrack(event.track);
      if (remoteVideo.srcObject !== remoteStream) remoteVideo.srcObject = remoteStream;
      if (event.track.kind === 'video') el('videos').classList.remove('solo');
      play();
    };
    clearInterval(statsTimer);
    statsTimer = setInterval(sampleStats, 1000);
    return connection;
  }

  /** Plays the remote video with sound; where autoplay with sound is refused, muted with an Unmute button. */
  function play() {
    remoteVideo.play().catch(function () {
      remoteVideo.muted = true;
      el('unmute').hidden = false;
      return remoteVideo.play().catch(function () { return undefined; });
    });
  }
  el('unmute').onclick = function () {
    remoteVideo.muted = false;
    el('unmute').hidden = true;
    play();
  };

  /** Caller, steps 1-2: our tracks, the offer as local description, sent for the server to hold. */
  function startCall() {
    setState('starting', 'opening the camera');
    return getLocalStream().then(function (stream) {
      var connection = newConnection();
      stream.getTracks().forEach(function (track) { connection.addTrack(track, stream); });
      return connection
        .createOffer()
        .then(function (offer) { return connection.setLocalDescription(offer); })
        .then(function () {
          current.offerSdp = connection.localDescription.sdp;
          return send({ type: 'offer', sdp: current.offerSdp });
        })
        .then(function (ack) {
          log(ack.delivered ? 'offer sent to the answerer' : 'offer held by the server until an answerer joins');
          if (connection === pc && connection.connectionState === 'new') {
            setState('waiting', 'call ' + state.calls + ': waiting for an answerer in room ' + room);
          }
        });
    });
  }

  /** Answerer, step 3: the offer as remote description, then our answer (receive only). */
  function answerCall(sdp) {
    var connection = newConnection();
    current.offerSdp = sdp;
    return connection
      .setRemoteDescription({ type: 'offer', sdp: sdp })
      .then(flushCandidates)
      .then(function () { return connection.createAnswer(); })
      .then(function (answer) { return connection.setLocalDescription(answer); })
      .then(function () {
        current.answerSdp = connection.localDescription.sdp;
        return send({ type: 'answer', sdp: current.answerSdp });
      })
      .then(function () {
        log('answer sent');
        if (connection === pc && connection.connectionState === 'new') {
          setState('connecting', 'call ' + state.calls + ': connecting');
        }
      });
  }

  /** Reconnection, caller: the unanswered offer again, then the candidates sent after it, in order. */
  function resendOffer() {
    log('re-sending the unanswered offer');
    var candidates = current.sentCandidates.slice();
    return send({ type: 'offer', sdp: current.offerSdp }).then(function () {
      return resendCandidates(candidates);
    });
  }

  /** Reconnection, answerer: the same offer came again; our answer and candidates go again if we had answered. */
  function resendAnswer() {
    if (!current.answerSdp) return;
    log('re-sending the answer');
    var candidates = current.sentCandidates.slice();
    return send({ type: 'answer', sdp: current.answerSdp }).then(function () {
      return resendCandidates(candidates);
    });
  }

  function resendCandidates(candidates) {
    return candidates.reduce(function (chain, c) {
      return chain.then(function () { return send({ type: 'candidate', candidate: c }); });
    }, Promise.resolve());
  }

  /** Caller, step 4: the answer becomes the remote description. */
  function acceptAnswer(sdp) {
    if (!pc || pc.signalingState !== 'have-local-offer') return log('answer ignored: no offer waiting for it');
    return pc.setRemoteDescription({ type: 'answer', sdp: sdp }).then(flushCandidates);
  }

  function addCandidate(candidate) {
    if (!pc || !pc.remoteDescription) {
      // Early candidates wait for the description (bounded: a misbehaving peer cannot fill memory).
      if (pendingCandidates.length < 200) pendingCandidates.push(candidate);
      return;
    }
    return pc.addIceCandidate(candidate).catch(function (error) { log('candidate refused: ' + error.message); });
  }

  function flushCandidates() {
    var queued = pendingCandidates;
    pendingCandidates = [];
    return queued.reduce(function (chain, c) { return chain.then(function () { return addCandidate(c); }); }, Promise.resolve());
  }

  function closeCall() {
    clearInterval(statsTimer);
    pendingCandidates = [];
    if (!pc) return;
    var connection = pc;
    pc = null;
    state.pc = null;
    connection.close();
    remoteVideo.srcObject = null;
    el('connection').textContent = 'closed';
  }

  /** The call ended (peer hung up or vanished, or ICE failed): the caller offers again, the answerer waits. */
  function callEnded() {
    if (!pc) return;
    closeCall();
    el('hangup').disabled = true;
    if (hungUp) return;
    if (role === 'caller') return startCall();
    setState('waiting', 'call ended; waiting for a caller in room ' + room);
  }

  el('hangup').onclick = function () {
    hungUp = true;
    send({ type: 'bye' }).catch(function () { return undefined; }).then(function () { socket.disconnect(); });
    closeCall();
    if (localStream) localStream.getTracks().forEach(function (t) { t.stop(); });
    el('hangup').disabled = true;
    setState('closed', 'hung up; reload the page to call again');
    log('hung up');
  };
  window.addEventListener('pagehide', function () {
    if (!hungUp && socket.connected) socket.emit('signal', { type: 'bye' });
  });

  function kbps(bytes, previousBytes, ms) {
    if (previousBytes === undefined || ms <= 0) return null;
    return Math.round(((bytes - previousBytes) * 8) / ms);
  }

  /** Live stats once a second: resolution, fps, bitrate, frames and losses each way, and round-trip time. */
  function sampleStats() {
    var connection = pc;
    if (!connection) return;
    connection.getStats().then(function (report) {
      if (connection !== pc) return;
      var inbound = null;
      var outbound = null;
      var transport = null;
      var pair = null;
      var remoteInbound = null;
      var audioIn = null;
      var audioOut = null;
      report.forEach(function (s) {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') audioIn = s;
        else if (s.type === 'outbound-rtp' && s.kind === 'audio') audioOut = s;
        else if (s.type === 'inbound-rtp' && s.kind === 'video') inbound = s;
        else if (s.type === 'outbound-rtp' && s.kind === 'video') outbound = s;
        else if (s.type === 'remote-inbound-rtp' && s.kind === 'video') remoteInbound = s;
        else if (s.type === 'transport') transport = s;
      });
      if (transport && transport.selectedCandidatePairId) pair = report.get(transport.selectedCandidatePairId);
      var now = performance.now();
      var prev = previousSample || {};
      var dt = previousSample ? now - prev.at : 0;
      var stats = {
        inbound: inbound && {
          width: inbound.frameWidth || 0,
          height: inbound.frameHeight || 0,
          fps: inbound.framesPerSecond || 0,
          kbps: kbps(inbound.bytesReceived || 0, prev.bytesReceived, dt),
          framesDecoded: inbound.framesDecoded || 0,
          packetsLost: inbound.packetsLost || 0,
        },
        outbound: outbound && {
          width: outbound.frameWidth || 0,
          height: outbound.frameHeight || 0,
          fps: outbound.framesPerSecond || 0,
          kbps: kbps(outbound.bytesSent || 0, prev.bytesSent, dt),
          framesSent: outbound.framesSent || 0,
          packetsLost: remoteInbound ? remoteInbound.packetsLost || 0 : null,
        },
        audioIn: audioIn && {
          kbps: kbps(audioIn.bytesReceived || 0, prev.audioBytesReceived, dt),
          packetsReceived: audioIn.packetsReceived || 0,
          // Sum of squared sample levels times duration: rises only while there is sound.
          totalAudioEnergy: audioIn.totalAudioEnergy || 0,
        },
        audioOut: audioOut && {
          kbps: kbps(audioOut.bytesSent || 0, prev.audioBytesSent, dt),
          packetsSent: audioOut.packetsSent || 0,
        },
        rttMs: pair && typeof pair.currentRoundTripTime === 'number' ? Math.round(pair.currentRoundTripTime * 1000) : null,
      };
      previousSample = {
        at: now,
        bytesReceived: inbound ? inbound.bytesReceived : undefined,
        bytesSent: outbound ? outbound.bytesSent : undefined,
        audioBytesReceived: audioIn ? audioIn.bytesReceived : undefined,
        audioBytesSent: audioOut ? audioOut.bytesSent : undefined,
      };
      state.stats = stats;
      show('in', stats.inbound, 'framesDecoded');
      show('out', stats.outbound, 'framesSent');
      el('in-audio').textContent = stats.audioIn ? (stats.audioIn.kbps === null ? '-' : stats.audioIn.kbps + ' kbit/s') : 'none';
      el('out-audio').textContent = stats.audioOut ? (stats.audioOut.kbps === null ? '-' : stats.audioOut.kbps + ' kbit/s') : 'none';
      el('rtt').textContent = stats.rttMs === null ? '-' : stats.rttMs + ' ms';
    }).catch(function (error) { log('stats: ' + error.message); });
  }

  function show(prefix, s, framesField) {
    var dash = function (v, unit) { return v === null || v === undefined ? '-' : v + (unit || ''); };
    el(prefix + '-resolution').textContent = s && s.width ? s.width + 'x' + s.height : '-';
    el(prefix + '-fps').textContent = s ? dash(Math.round(s.fps * 10) / 10) : '-';
    el(prefix + '-bitrate').textContent = s ? dash(s.kbps, ' kbit/s') : '-';
    el(prefix + '-frames').textContent = s ? dash(s[framesField]) : '-';
    el(prefix + '-lost').textContent = s ? dash(s.packetsLost) : '-';
  }

  setState('connecting', 'connecting to the signaling server');
})();
`;
