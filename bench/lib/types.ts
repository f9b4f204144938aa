/** The shapes of the benchmark's results (the JSON file in bench/results/ holds them). */
import type { Percentiles } from './stats.js';

/** One media run: a sender and a receiver on this machine for a steady window. */
export interface MediaResult {
  /** Which setup: `rtc-peer`, `rtc-peer --record`, `raw wrtc`, `chromium`. */
  setup: string;
  /** Size sent, `WxH`. */
  size: string;
  /** Frame rate sent. */
  fps: number;
  /** Frame-in to frame-out latency over the whole call (ramp-up included), ms. */
  latencyMs?: Percentiles;
  /** Frames received per second over the steady window. */
  fpsReceived: number;
  /** Resolution received at the end of the window, `WxH`. */
  resolution?: string;
  /** CPU of every process of both peers over the window, in cores. */
  cpuCores: number;
  /** Sum of the peak RSS of every process of both peers, MB. */
  peakRssMb: number;
  /** Sum of their PSS at the end of the window (shared pages counted once), MB. */
  pssMb: number;
  /** The processes counted, by pid: name, CPU over the window in cores, and that CPU by thread name. */
  processes: Record<string, { comm: string; cores: number; threads: Record<string, number> }>;
  /** The pids of the sending and the receiving node process (the rest are their children: ffmpeg). */
  peers?: { sender: number; receiver: number };
  /** Frames in the recording, with `--record`. */
  framesRecorded?: number;
  /** What was sent besides video, and other remarks. */
  note?: string;
}

/** Join to first frame, over several answerers joining a held offer. */
export interface FirstFrameResult {
  size: string;
  trials: number;
  /** Answerer's `joined` to its `first-frame` event, ms, one per trial. */
  firstFrameMs: number[];
  /** Answerer's `joined` to the first frame in its recording reaching it, ms, one per trial. */
  firstRecordedMs: number[];
  firstFrame?: Percentiles;
  firstRecorded?: Percentiles;
}

/** The recorder's ffmpeg stopped (SIGSTOP) for a while during a recorded call. */
export interface StallResult {
  size: string;
  stopSec: number;
  /** Answerer node RSS just before the stop, MB. */
  rssBeforeMb: number;
  /** Highest answerer node RSS from the stop to the end, MB. */
  rssPeakMb: number;
  /** rssPeakMb - rssBeforeMb. */
  growthMb: number;
  /** Frames received per second while ffmpeg was stopped. */
  fpsReceivedDuringStop: number;
  /** Frames received per second over the last seconds after SIGCONT. */
  fpsReceivedAfter: number;
  /** Whether the recording grew again after SIGCONT. */
  recordingResumed: boolean;
  /** Frames the recorder dropped (counted by it). */
  framesDropped?: number;
  /** How the call ended. */
  endReason?: string;
}

/** Signaling load at one client count. */
export interface SignalingResult {
  clients: number;
  /** Wall time to connect and join all clients, ms. */
  connectAllMs: number;
  /** Per client, io() to join ack, ms. */
  connectMs?: Percentiles;
  /** Server RSS growth divided by the clients, KB. */
  rssPerClientKb: number;
  /** Server RSS with every client joined, MB. */
  serverRssMb: number;
  /** Handshakes asked per second. */
  rate: number;
  /** Handshakes completed. */
  handshakes: number;
  /** Handshakes per second achieved. */
  rateAchieved: number;
  /** One relay (offer, answer and candidate relays together), send to receive, ms. */
  relayMs?: Percentiles;
  /** Whole offer -> answer -> candidate handshake, the caller's offer to the answerer's candidate, ms. */
  handshakeMs?: Percentiles;
  /** CPU of the server process during the handshakes, cores. */
  serverCpuCores: number;
}
