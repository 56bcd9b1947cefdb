/**
 * The time beacon: one datagram per slot of a drift-free schedule to every
 * address of every target, and a `bye` on stop. Names are resolved in the
 * background (resolver.ts) and a beat goes to each target's last good
 * answer. A failed lookup or send is logged as an `exception` event and
 * counted per target; the beacon keeps going: the client not being up yet
 * is normal. The server runs it towards its targets; the monitor can run it
 * towards its peers (this folder ships in both images).
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIP, isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { type Lookup, type SystemLookup, systemLookup } from '../dns/system-lookup.js';
import {
  type DatagramKind,
  encodeDatagram,
  humanTimestamp,
  PROTOCOL_VERSION,
  type Signer,
} from '../protocol.js';
import { type OwnSocket, type Resolver, startResolver } from './resolver.js';
import { delayUntil, dueAt, nextSlot } from './schedule.js';
import { formatTarget, MAX_ADDRESSES_PER_TARGET, type Target } from './targets.js';

export interface BeaconOptions {
  intervalMs: number;
  targets: readonly Target[];
  source: string;
  /** Random per process start unless given (tests). */
  boot?: string;
  signer: Signer | null;
  sendBye: boolean;
  /**
   * Name resolution: the system's (dns/system-lookup.ts) unless
   * given: a SystemLookup, cancelled on stop, or a bare function (tests).
   */
  lookup?: Lookup | SystemLookup;
  /** A socket never sent to: this host's own (see ResolverOptions.exclude). */
  exclude?: OwnSocket;
}

/** Datagrams handed to the kernel for one address, per kind. */
export interface SentCounts {
  beat: number;
  bye: number;
}

export interface TargetStats {
  /** The target's canonical text (formatTarget), as logs and metrics name it. */
  target: string;
  /** Where its beats go now: the last good answer; empty before the first. */
  addresses: readonly string[];
  /** Addresses of that answer left out by the cap of MAX_ADDRESSES_PER_TARGET. */
  droppedAddresses: number;
  /**
   * Per address, for the MAX_ADDRESSES_PER_TARGET addresses sent to most
   * recently (older ones are forgotten, so the label sets stay bounded
   * whatever the name's addresses churn through).
   */
  sent: ReadonlyMap<string, Readonly<SentCounts>>;
  /**
   * `dns_error`: failed lookups while a last good answer was kept, plus
   * datagrams that had no address to go to; `send_error`: failed sends.
   * One per `exception` line.
   */
  errors: Readonly<{ dns_error: number; send_error: number }>;
}

export interface BeaconStats {
  boot: string;
  targets: TargetStats[];
  /** Asynchronous socket errors (not tied to a target). */
  socketErrors: number;
  /** The sequence number the next datagram will carry. */
  nextSeq: number;
  lastSendAtMs: number | null;
  /** performance.now() of the last schedule tick: proves the loop is alive. */
  lastTickPerfMs: number;
  /** How late the last beat left relative to its slot, in ms. */
  lastLatenessMs: number;
}

export interface Beacon {
  stats(): BeaconStats;
  /**
   * Stops the schedule, sends `bye` (if configured, and unless `planned` is
   * false: a crash is no planned stop, and must look like the death it is),
   * closes the sockets.
   */
  stop(how?: { planned: boolean }): Promise<void>;
}

const BYE_TIMEOUT_MS = 500;
/**
 * setTimeout counts whole milliseconds from the event loop's cached clock,
 * so on its own it wakes the beacon up to ~1 ms before or after a slot.
 * It is asked to wake this much before the slot instead, and the rest is
 * polled with setImmediate (which lets I/O run between checks), backed by
 * a timer at the slot itself: a beat then leaves a few microseconds after
 * its slot, never before it. The price is up to this long of polling per
 * beat, measured in docs/PERFORMANCE.md.
 */
const EARLY_WAKE_MS = 1;

interface TargetState {
  target: Target;
  name: string;
  resolver: Resolver;
  sent: Map<string, SentCounts>;
  errors: { dns_error: number; send_error: number };
}

export function startBeacon(options: BeaconOptions, logger: Logger): Beacon {
  const log = logger.child({ component: 'beacon' });
  const boot = options.boot ?? randomBytes(8).toString('hex');
  const startPerf = performance.now();
  let nextSeq = 0;
  let lastSendAtMs: number | null = null;
  let lastTickPerfMs = startPerf;
  let lastLatenessMs = 0;
  let socketErrors = 0;
  const sockets = new Map<'udp4' | 'udp6', Socket>();
  let slot = 0;
  /** The early wake-up, or the back-up at the slot while polling. */
  let timer: NodeJS.Timeout | null = null;
  let immediate: NodeJS.Immediate | null = null;
  /** The slot the back-up timer is armed for. */
  let backupFor = -1;
  let stopped = false;
  /** The sockets are closed: a datagram still waiting for a lookup goes nowhere. */
  let closed = false;

  /**
   * Each name is looked up this long before every slot, and a lookup that
   * has not answered by the slot counts as failed: the beat goes to the
   * last good answer, at most this old.
   */
  const lookupLeadMs = Math.max(1, Math.min(1000, Math.floor(options.intervalMs / 2)));
  let refreshTimer: NodeJS.Timeout | null = null;
  const names: SystemLookup =
    typeof options.lookup === 'function'
      ? { lookup: options.lookup, cancel() {} }
      : (options.lookup ?? systemLookup());
  const targets: TargetState[] = options.targets.map((target) => {
    const errors = { dns_error: 0, send_error: 0 };
    const resolver = startResolver(
      {
        target,
        lookup: names.lookup,
        timeoutMs: lookupLeadMs,
        onDnsError: () => {
          errors.dns_error++;
        },
        ...(options.exclude === undefined ? {} : { exclude: options.exclude }),
      },
      log,
    );
    return { target, name: formatTarget(target), resolver, sent: new Map(), errors };
  });
  const named = targets.filter((t) => isIP(t.target.host) === 0);

  function refreshAll(): void {
    refreshTimer = null;
    for (const t of named) t.resolver.refresh();
  }

  /** Looks the names up `lookupLeadMs` before the slot about to be waited for. */
  function armRefresh(): void {
    if (named.length === 0 || stopped) return;
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    const delay = delayUntil(startPerf, options.intervalMs, slot, performance.now()) - lookupLeadMs;
    refreshTimer = setTimeout(refreshAll, Math.max(0, delay));
  }

  function socketFor(address: string): Socket {
    const type = isIPv6(address) ? 'udp6' : 'udp4';
    let socket = sockets.get(type);
    if (socket === undefined) {
      socket = createSocket(type);
      socket.on('error', (err) => {
        socketErrors++;
        log.error({ event: 'exception', reason: 'socket_error', err }, 'socket error');
      });
      sockets.set(type, socket);
    }
    return socket;
  }

  /** Counts one datagram to `address`, keeping the most recent MAX_ADDRESSES_PER_TARGET addresses. */
  function countSent(t: TargetState, address: string, kind: DatagramKind): void {
    let counts = t.sent.get(address);
    if (counts === undefined) {
      counts = { beat: 0, bye: 0 };
      if (t.sent.size >= MAX_ADDRESSES_PER_TARGET) {
        const oldest = t.sent.keys().next().value;
        if (oldest !== undefined) t.sent.delete(oldest);
      }
    } else t.sent.delete(address);
    t.sent.set(address, counts);
    counts[kind]++;
  }

  function sendOne(t: TargetState, address: string, bytes: Buffer, seq: number, kind: DatagramKind) {
    const { port } = t.target;
    return new Promise<void>((resolve) => {
      socketFor(address).send(bytes, port, address, (err) => {
        if (err) {
          t.errors.send_error++;
          log.warn(
            { event: 'exception', reason: 'send_error', target: t.name, address, seq, err },
            `${kind} ${seq} -> ${address}:${port} failed`,
          );
        } else {
          countSent(t, address, kind);
          lastSendAtMs = Date.now();
          log.info(
            { event: 'send', kind, seq, target: t.name, address, port, bytes: bytes.length },
            `${kind} ${seq} -> ${t.name} (${address})`,
          );
        }
        resolve();
      });
    });
  }

  function sendTo(t: TargetState, bytes: Buffer, seq: number, kind: DatagramKind): Promise<unknown> {
    const addresses = t.resolver.addresses();
    if (addresses !== null) return Promise.all(addresses.map((a) => sendOne(t, a, bytes, seq, kind)));
    // No answer yet (start-up, or the name has never resolved): look it up
    // now unless a lookup is in flight, wait for that (bounded by its
    // timeout), then send or report the datagram.
    t.resolver.refresh();
    return t.resolver.settled().then(() => {
      if (closed || (stopped && kind === 'beat')) return;
      const late = t.resolver.addresses();
      if (late !== null) return Promise.all(late.map((a) => sendOne(t, a, bytes, seq, kind)));
      t.errors.dns_error++;
      const err = t.resolver.lastError();
      log.warn(
        {
          event: 'exception',
          reason: 'dns_error',
          target: t.name,
          seq,
          detail: 'not sent: no address yet',
          ...(err ? { err } : {}),
        },
        `cannot resolve ${t.target.host}: ${kind} ${seq} not sent`,
      );
    });
  }

  function emit(kind: DatagramKind): Promise<unknown> {
    const sentAtMs = Date.now();
    const seq = nextSeq++;
    const bytes = encodeDatagram(
      {
        v: PROTOCOL_VERSION,
        kind,
        source: options.source,
        boot,
        seq,
        sentAt: new Date(sentAtMs).toISOString(),
        intervalMs: options.intervalMs,
        text: humanTimestamp(sentAtMs),
      },
      options.signer,
    );
    return Promise.all(targets.map((t) => sendTo(t, bytes, seq, kind)));
  }

  function tick(): void {
    const now = performance.now();
    lastTickPerfMs = now;
    lastLatenessMs = now - dueAt(startPerf, options.intervalMs, slot);
    void emit('beat');
    slot = nextSlot(startPerf, options.intervalMs, slot, performance.now());
    armRefresh();
    // Behind (the next slot is already due): let I/O run once before sending it.
    if (delayUntil(startPerf, options.intervalMs, slot, performance.now()) <= 0)
      immediate = setImmediate(poll);
    else wait();
  }

  /** Until the slot is due: a timer while it is far, then setImmediate polling (see EARLY_WAKE_MS). */
  function wait(): void {
    if (stopped) return;
    const delay = delayUntil(startPerf, options.intervalMs, slot, performance.now());
    if (delay <= 0) {
      cancel();
      tick();
    } else if (delay > EARLY_WAKE_MS) {
      cancel();
      timer = setTimeout(wait, delay - EARLY_WAKE_MS);
    } else {
      if (backupFor !== slot) {
        if (timer !== null) clearTimeout(timer);
        timer = setTimeout(wait, delay);
        backupFor = slot;
      }
      immediate ??= setImmediate(poll);
    }
  }

  function poll(): void {
    immediate = null;
    wait();
  }

  function cancel(): void {
    if (timer !== null) clearTimeout(timer);
    if (immediate !== null) clearImmediate(immediate);
    timer = null;
    immediate = null;
    backupFor = -1;
  }

  log.info(
    {
      event: 'start',
      source: options.source,
      boot,
      intervalMs: options.intervalMs,
      targets: targets.map((t) => t.name),
      signed: options.signer !== null,
      keyId: options.signer?.keyId ?? null,
    },
    'beacon started',
  );
  refreshAll();
  tick();

  return {
    stats: () => ({
      boot,
      targets: targets.map((t) => ({
        target: t.name,
        addresses: t.resolver.addresses() ?? [],
        droppedAddresses: t.resolver.dropped(),
        sent: t.sent,
        errors: t.errors,
      })),
      socketErrors,
      nextSeq,
      lastSendAtMs,
      lastTickPerfMs,
      lastLatenessMs,
    }),
    async stop(how = { planned: true }) {
      if (stopped) return;
      stopped = true;
      cancel();
      if (refreshTimer !== null) clearTimeout(refreshTimer);
      refreshTimer = null;
      if (options.sendBye && how.planned) {
        await Promise.race([
          emit('bye'),
          new Promise((resolve) => setTimeout(resolve, BYE_TIMEOUT_MS).unref()),
        ]);
      }
      for (const t of targets) t.resolver.stop();
      names.cancel();
      closed = true;
      await Promise.all(
        [...sockets.values()].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      );
      sockets.clear();
    },
  };
}
