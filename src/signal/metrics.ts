/**
 * `GET /metrics`: what one signaling server does, in the Prometheus text format (prom-client). Every series
 * carries a `node` label, this server's id; with several servers, scrape each. Counts of shared state
 * (rooms, held offers) are the whole cluster's as Redis has them: do not sum them over servers.
 */
import client from 'prom-client';
import type { RegistryCounts } from './room-registry.js';

/** The process metrics (CPU, RSS, event loop lag, GC) of this process, registered once for all servers. */
let processRegistry: client.Registry | undefined;

function processMetrics(): client.Registry {
  if (processRegistry === undefined) {
    processRegistry = new client.Registry();
    client.collectDefaultMetrics({ register: processRegistry, prefix: 'rtc_peer_' });
  }
  return processRegistry;
}

/** What the metrics read when scraped. */
export interface MetricsSources {
  /** This server's id (the `node` label). */
  node: string;
  /** Connected Socket.IO clients. */
  clients: () => number;
  /** The registry's counts; may reject (Redis away): those gauges are then left out of the scrape. */
  counts: () => RegistryCounts | Promise<RegistryCounts>;
  /** 1 while the server can serve (`/readyz`). */
  ready: () => boolean;
  /** The limits' figures (server-guard.ts): refusals by kind, held bytes, handshakes under way. */
  guard?: () => { refused: Readonly<Record<string, number>>; heldBytes: number; pending: number };
}

/** The counters and histograms a signaling server updates, and the scrape. */
export class SignalMetrics {
  /** The Prometheus content type of {@link SignalMetrics.scrape}. */
  readonly contentType: string;
  readonly #register = new client.Registry();
  readonly #messages: client.Counter<'type'>;
  readonly #deliveries: client.Counter<'type'>;
  readonly #refusals: client.Counter<'code'>;
  readonly #relay: client.Histogram<'type'>;
  readonly #conflicts: client.Counter;
  readonly #swept: client.Counter;
  readonly #node: string;

  constructor(sources: MetricsSources) {
    this.#node = sources.node;
    const register = this.#register;
    register.setDefaultLabels({ node: sources.node });
    this.contentType = register.contentType;
    const registers = [register];
    let counts: Promise<RegistryCounts | undefined> | undefined;
    // One read of the counts per scrape, shared by the gauges that show them.
    const readCounts = (): Promise<RegistryCounts | undefined> => {
      counts ??= Promise.resolve()
        .then(() => sources.counts())
        .catch(() => undefined)
        .finally(() => setImmediate(() => (counts = undefined)));
      return counts;
    };
    const fromCounts = (name: string, help: string, pick: (c: RegistryCounts) => number): void => {
      new client.Gauge({
        name,
        help,
        registers,
        async collect() {
          const c = await readCounts();
          if (c === undefined) this.reset();
          else this.set(pick(c));
        },
      });
    };
    new client.Gauge({
      name: 'rtc_peer_clients',
      help: 'Socket.IO clients connected to this server, joined or not',
      registers,
      collect() {
        this.set(sources.clients());
      },
    });
    fromCounts('rtc_peer_members', "This server's connections that are in a room", (c) => c.members);
    fromCounts(
      'rtc_peer_rooms',
      'Rooms with at least one member (with Redis: in the cluster)',
      (c) => c.rooms,
    );
    fromCounts(
      'rtc_peer_held_offers',
      'Rooms holding an unanswered offer for the next answerer (with Redis: in the cluster)',
      (c) => c.heldOffers,
    );
    new client.Gauge({
      name: 'rtc_peer_ready',
      help: '1 while this server can serve (GET /readyz answers 200)',
      registers,
      collect() {
        this.set(sources.ready() ? 1 : 0);
      },
    });
    const guard = sources.guard;
    if (guard !== undefined) {
      new client.Counter({
        name: 'rtc_peer_limit_refusals_total',
        help: 'Connections and messages refused by the limits, by kind (rate, cut, connections, rooms, heldBytes, auth, authTimeout, origin)',
        labelNames: ['kind'],
        registers,
        collect() {
          this.reset();
          for (const [kind, n] of Object.entries(guard().refused)) this.inc({ kind }, n);
        },
      });
      new client.Gauge({
        name: 'rtc_peer_held_bytes',
        help: "Bytes of held offers and candidates, as the held-bytes budget counts them (this server's callers)",
        registers,
        collect() {
          this.set(guard().heldBytes);
        },
      });
      new client.Gauge({
        name: 'rtc_peer_pending_connections',
        help: 'Transport connections that have not finished their handshake (or were refused)',
        registers,
        collect() {
          this.set(guard().pending);
        },
      });
    }
    this.#messages = new client.Counter({
      name: 'rtc_peer_messages_total',
      help: 'Client messages received, by type ("invalid": failed validation)',
      labelNames: ['type'],
      registers,
    });
    this.#deliveries = new client.Counter({
      name: 'rtc_peer_deliveries_total',
      help: 'Server messages this server sent on to a client (here or through Redis), by type',
      labelNames: ['type'],
      registers,
    });
    this.#refusals = new client.Counter({
      name: 'rtc_peer_refusals_total',
      help: 'Client messages refused, by error code',
      labelNames: ['code'],
      registers,
    });
    this.#relay = new client.Histogram({
      name: 'rtc_peer_relay_seconds',
      help: "From a client message's arrival to the messages it causes being sent, by the message's type",
      labelNames: ['type'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.#conflicts = new client.Counter({
      name: 'rtc_peer_store_conflicts_total',
      help: 'Room writes retried because another server wrote the room first (Redis)',
      registers,
    });
    this.#swept = new client.Counter({
      name: 'rtc_peer_swept_members_total',
      help: 'Members of dead servers this server removed from their rooms (Redis)',
      registers,
    });
  }

  /** A client message arrived (`'invalid'` when it failed validation). */
  message(type: string): void {
    this.#messages.inc({ type });
  }

  /** A message was refused with `code`. */
  refusal(code: string): void {
    this.#refusals.inc({ code });
  }

  /** A server message was sent on. */
  delivery(type: string): void {
    this.#deliveries.inc({ type });
  }

  /** A message of `type` that arrived at `since` (performance.now()) has had its deliveries sent. */
  relayed(type: string, since: number): void {
    this.#relay.observe({ type }, (performance.now() - since) / 1000);
  }

  /** A room write was retried. */
  conflict(): void {
    this.#conflicts.inc();
  }

  /** This server removed `n` members of a dead server. */
  swept(n: number): void {
    this.#swept.inc(n);
  }

  /** The text of `GET /metrics`: this server's series, then the process's. */
  async scrape(): Promise<string> {
    const own = await this.#register.metrics();
    const proc = processMetrics();
    proc.setDefaultLabels({ node: this.#node });
    return `${own}\n${await proc.metrics()}`;
  }
}
