/**
 * The per-sender metric families (the METRICS_SENDER_SERIES most urgent
 * senders), written straight to the exposition text: at a thousand senders
 * a scrape writes some 17,000 series, which a label-set registry would hash
 * one by one. The format is Prometheus' text exposition 0.0.4; the names are
 * written out whole, so that a search for one finds it.
 */
import { SENDER_STATES } from '../../shared/vocabulary.js';
import type { SenderSummary } from '../tracking/tracker.js';
import { type TextChunks, textChunks } from './text-chunks.js';

type Emit = (labels: string, value: number) => void;

interface Family {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  /** Emits the sender's series; `source` is its escaped `source="..."` label. */
  series(s: SenderSummary, source: string, emit: Emit): void;
}

const FAMILIES: readonly Family[] = [
  {
    name: 'udp_monitor_sender_state',
    type: 'gauge',
    help: 'Liveness state of each sender (1 for the current state)',
    series: (s, source, emit) => {
      for (const state of SENDER_STATES) emit(`${source},state="${state}"`, s.state === state ? 1 : 0);
    },
  },
  {
    name: 'udp_monitor_sender_received_total',
    type: 'counter',
    help: 'Datagrams received per sender, duplicates included',
    series: (s, source, emit) => emit(source, s.received),
  },
  {
    name: 'udp_monitor_sender_lost',
    type: 'gauge',
    help: 'Missing sequence numbers per sender (late arrivals reduce it)',
    series: (s, source, emit) => emit(source, s.lost),
  },
  {
    name: 'udp_monitor_sender_duplicates_total',
    type: 'counter',
    help: 'Duplicate datagrams per sender',
    series: (s, source, emit) => emit(source, s.duplicates),
  },
  {
    name: 'udp_monitor_sender_out_of_order_total',
    type: 'counter',
    help: 'Datagrams that arrived after a higher seq',
    series: (s, source, emit) => emit(source, s.outOfOrder),
  },
  {
    name: 'udp_monitor_sender_restarts_total',
    type: 'counter',
    help: 'Restarts (a new boot id) per sender',
    series: (s, source, emit) => emit(source, s.restarts),
  },
  {
    name: 'udp_monitor_sender_delay_seconds',
    type: 'gauge',
    help: 'One-way delay (receive minus sentAt)',
    series: (s, source, emit) => {
      emit(`${source},stat="last"`, s.delay.lastMs / 1000);
      emit(`${source},stat="min"`, s.delay.minMs / 1000);
      emit(`${source},stat="mean"`, s.delay.meanMs / 1000);
      emit(`${source},stat="max"`, s.delay.maxMs / 1000);
    },
  },
  {
    name: 'udp_monitor_sender_jitter_seconds',
    type: 'gauge',
    help: 'Interarrival jitter (RFC 3550 6.4.1)',
    series: (s, source, emit) => emit(source, s.jitterMs / 1000),
  },
  {
    name: 'udp_monitor_sender_last_seen_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time of the last datagram',
    series: (s, source, emit) => {
      if (s.lastSeenMs !== null) emit(source, s.lastSeenMs / 1000);
    },
  },
  {
    name: 'udp_monitor_sender_uptime_ratio',
    type: 'gauge',
    help: 'Share of observed time up or late',
    series: (s, source, emit) => {
      if (s.uptime.h1 !== null) emit(`${source},window="1h"`, s.uptime.h1 / 100);
      if (s.uptime.h24 !== null) emit(`${source},window="24h"`, s.uptime.h24 / 100);
    },
  },
];

/** A label value as the exposition format wants it: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
    : value;
}

const formatValue = (v: number) =>
  Number.isNaN(v)
    ? 'NaN'
    : v === Number.POSITIVE_INFINITY
      ? '+Inf'
      : v === Number.NEGATIVE_INFINITY
        ? '-Inf'
        : String(v);

/**
 * The per-sender families, written a part of the senders at a time (a scrape
 * builds its senders' summaries in parts: http/senders-in-parts.ts): each
 * family's lines are kept apart, and chunks() puts them together under their
 * HELP and TYPE, the senders in the order they were added, in chunks of
 * bounded length (text-chunks.ts): at 1,000 senders the text is ~1.2 MB.
 */
export interface SenderSeriesText {
  add(senders: readonly SenderSummary[]): void;
  chunks(): string[];
}

export function senderSeriesText(): SenderSeriesText {
  // Per family, its lines as they are written, gathered into chunks of bounded length: a part of 250
  // senders is ~85K characters of one family's lines, more with long sources.
  const families = FAMILIES.map(() => textChunks());
  return {
    add(senders) {
      if (senders.length === 0) return;
      const sources = senders.map((s) => `source="${escapeLabelValue(s.source)}"`);
      for (let f = 0; f < FAMILIES.length; f++) {
        const { name, series } = FAMILIES[f] as Family;
        const lines = families[f] as TextChunks;
        const emit: Emit = (labels, value) => {
          lines.add(`${name}{${labels}} ${formatValue(value)}\n`);
        };
        for (let i = 0; i < senders.length; i++)
          series(senders[i] as SenderSummary, sources[i] as string, emit);
      }
    },
    chunks() {
      const text = textChunks();
      FAMILIES.forEach(({ name, help, type }, f) => {
        text.add(`# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`);
        for (const chunk of (families[f] as TextChunks).close()) text.add(chunk);
      });
      return text.close();
    },
  };
}
