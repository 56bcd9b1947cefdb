/**
 * The time beacon: one datagram per slot of a drift-free schedule to every
 * target, and a `bye` on stop. A failed lookup or send is logged as an
 * `exception` event and the beacon keeps going: the client not being up yet
 * is normal.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import {
  type DatagramKind,
  encodeDatagram,
  humanTimestamp,
  PROTOCOL_VERSION,
  type Signer,
} from '../shared/protocol.js';
import type { Target } from './config.js';
import { delayUntil, dueAt, nextSlot } from './schedule.js';

export interface BeaconOptions {
  intervalMs: number;
  targets: readonly Target[];
  source: string;
  /** Random per process start unless given (tests). */
  boot?: string;
  signer: Signer | null;
  sendBye: boolean;
  /** Name resolution, at every send; dns.lookup unless given (tests). */
  lookup?: (host: string) => Promise<{ address: string }>;
}

export interface BeaconStats {
  boot: string;
  /** Datagrams handed to the kernel, per kind. */
  sent: { beat: number; bye: number };
  sendErrors: { dns_error: number; send_error: number; socket_error: number };
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
  /** Stops the schedule, sends `bye` (if configured), closes the sockets. */
  stop(): Promise<void>;
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

export function startBeacon(options: BeaconOptions, logger: Logger): Beacon {
  const log = logger.child({ component: 'beacon' });
  const boot = options.boot ?? randomBytes(8).toString('hex');
  const startPerf = performance.now();
  const stats: BeaconStats = {
    boot,
    sent: { beat: 0, bye: 0 },
    sendErrors: { dns_error: 0, send_error: 0, socket_error: 0 },
    nextSeq: 0,
    lastSendAtMs: null,
    lastTickPerfMs: startPerf,
    lastLatenessMs: 0,
  };
  const sockets = new Map<'udp4' | 'udp6', Socket>();
  let slot = 0;
  /** The early wake-up, or the back-up at the slot while polling. */
  let timer: NodeJS.Timeout | null = null;
  let immediate: NodeJS.Immediate | null = null;
  /** The slot the back-up timer is armed for. */
  let backupFor = -1;
  let stopped = false;
  const resolve = options.lookup ?? ((host: string) => lookup(host));

  function socketFor(address: string): Socket {
    const type = isIPv6(address) ? 'udp6' : 'udp4';
    let socket = sockets.get(type);
    if (socket === undefined) {
      socket = createSocket(type);
      socket.on('error', (err) => {
        stats.sendErrors.socket_error++;
        log.error({ event: 'exception', reason: 'socket_error', err }, 'socket error');
      });
      sockets.set(type, socket);
    }
    return socket;
  }

  /**
   * Name resolution off the critical path. A target is looked up at every
   * send (so a restarted client with a new address is found), but a send
   * waits at most `lookupBudgetMs` for it; past that, or when the lookup
   * fails, the beat goes to the last address the name resolved to. One
   * lookup per host at a time: a hung resolver (a cut network) holds one of
   * libuv's threads, not one per beat, and beats neither stall nor leave
   * late in a burst when the network comes back.
   */
  const known = new Map<string, string>();
  const pending = new Map<string, Promise<string>>();
  const lookupBudgetMs = Math.max(1, Math.min(1000, Math.floor(options.intervalMs / 2)));

  async function addressOf(host: string): Promise<{ address: string | null; err: unknown }> {
    if (isIP(host) !== 0) return { address: host, err: null };
    let inFlight = pending.get(host);
    if (inFlight === undefined) {
      inFlight = resolve(host).then((r) => {
        known.set(host, r.address);
        return r.address;
      });
      const settled = inFlight.finally(() => pending.delete(host));
      settled.catch(() => undefined); // the rejection is reported by the awaiting send
      pending.set(host, inFlight);
    }
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`lookup of ${host} took over ${lookupBudgetMs} ms`)),
        lookupBudgetMs,
      );
    });
    try {
      return { address: await Promise.race([inFlight, budget]), err: null };
    } catch (err) {
      return { address: known.get(host) ?? null, err };
    } finally {
      clearTimeout(timer);
    }
  }

  async function sendTo(target: Target, bytes: Buffer, seq: number, kind: DatagramKind): Promise<void> {
    const where = `${target.host}:${target.port}`;
    const { address, err } = await addressOf(target.host);
    if (err !== null) {
      stats.sendErrors.dns_error++;
      log.warn(
        { event: 'exception', reason: 'dns_error', target: where, seq, ...(address ? { address } : {}), err },
        address
          ? `cannot resolve ${target.host}: sending to its last address ${address}`
          : `cannot resolve ${target.host}`,
      );
    }
    if (address === null) return;
    if (stopped && kind === 'beat') return;
    await new Promise<void>((resolve) => {
      socketFor(address).send(bytes, target.port, address, (err) => {
        if (err) {
          stats.sendErrors.send_error++;
          log.warn(
            { event: 'exception', reason: 'send_error', target: where, address, seq, err },
            'send failed',
          );
        } else {
          stats.sent[kind]++;
          stats.lastSendAtMs = Date.now();
          log.info(
            { event: 'send', kind, seq, target: where, address, port: target.port, bytes: bytes.length },
            `${kind} ${seq} -> ${where}`,
          );
        }
        resolve();
      });
    });
  }

  function emit(kind: DatagramKind): Promise<unknown> {
    const sentAtMs = Date.now();
    const seq = stats.nextSeq++;
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
    return Promise.all(options.targets.map((target) => sendTo(target, bytes, seq, kind)));
  }

  function tick(): void {
    const now = performance.now();
    stats.lastTickPerfMs = now;
    stats.lastLatenessMs = now - dueAt(startPerf, options.intervalMs, slot);
    void emit('beat');
    slot = nextSlot(startPerf, options.intervalMs, slot, performance.now());
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
      targets: options.targets.map((t) => `${t.host}:${t.port}`),
      signed: options.signer !== null,
      keyId: options.signer?.keyId ?? null,
    },
    'beacon started',
  );
  tick();

  return {
    stats: () => stats,
    async stop() {
      if (stopped) return;
      stopped = true;
      cancel();
      if (options.sendBye) {
        await Promise.race([
          emit('bye'),
          new Promise((resolve) => setTimeout(resolve, BYE_TIMEOUT_MS).unref()),
        ]);
      }
      await Promise.all(
        [...sockets.values()].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      );
      sockets.clear();
    },
  };
}
