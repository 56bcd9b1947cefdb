/**
 * The status page, rendered complete on the server: it works without
 * JavaScript (a <noscript> refresh every 5 s), and /static/page.js then keeps
 * it live over Server-Sent Events. page.js builds its rows from the
 * <template> elements rendered here and mirrors the formatters below, so
 * both sides show the same columns, classes and wording.
 *
 * Every datagram-derived string goes through escapeHtml; numbers are
 * numbers; no datagram string ever lands in a URL or a script.
 */

import { fmtDuration } from '../../shared/duration.js';
import {
  type HeartbeatMark,
  heartbeatMarkSchema,
  receivedKindSchema,
  SENDER_STATES,
  type SenderState,
  STATE_URGENCY,
} from '../../shared/vocabulary.js';
import type { Received } from '../ingest/history.js';
import type { LastNotification } from '../store/outbox.js';
import type { SenderView } from '../tracking/tracker.js';
import type { Status } from './api.js';
import { escapeHtml as e } from './escape.js';
import { textChunks } from './text-chunks.js';

export interface PageModel {
  status: Status;
  senders: SenderView[];
  /** Newest first. */
  recent: Received[];
  nowMs: number;
  /** A silence longer than this between datagrams is shown as a "waiting…" mark (the MARK_INTERVAL). */
  quietMs?: number;
  /** The search box's text: only senders whose id or name contains it are listed. */
  q?: string;
}

/** Rows of each table at most (page.js keeps the same limits). */
export const PAGE_SENDER_LIMIT = 500;
/** The search box's text at most (as /api/senders?q=). */
export const PAGE_QUERY_MAX = 64;
export const PAGE_DATAGRAM_ROWS = 100;
const NO_JS_REFRESH_S = 5;
const TITLE = 'udp-time-service monitor';

/** The closed sets page.js needs, handed over in data attributes (one declaration, in shared/vocabulary.ts). */
const VOCABULARY_ATTRIBUTES = [
  `data-urgency="${e(JSON.stringify(STATE_URGENCY))}"`,
  `data-kinds="${e(JSON.stringify(receivedKindSchema.options))}"`,
  `data-marks="${e(JSON.stringify(heartbeatMarkSchema.options))}"`,
].join(' ');
/** The heartbeat bar's classes; received (the common case) has none, to keep the page small. */
const MARK_CLASS: Readonly<Record<HeartbeatMark, string>> = {
  received: '',
  late: 'l',
  missed: 'm',
  restart: 'r',
};

// --- formatters (mirrored in public/page.js, with fmtDuration from shared/duration.ts) ---

/** "0.4 ms", "12 ms", "1.5 s". */
export function fmtMs(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '';
  const a = Math.abs(value);
  if (a < 10) return `${value.toFixed(1)} ms`;
  if (a < 1000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(a < 100_000 ? 1 : 0)} s`;
}

/** Rounded down, so 99.96 shows as 99.9% and only a perfect record as 100%. */
export function fmtPct(value: number | null): string {
  if (value === null) return '–';
  return value >= 100 ? '100%' : `${(Math.floor(value * 10) / 10).toFixed(1)}%`;
}

/** HH:MM:SS.mmm UTC. */
export function fmtTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

export function waitingText(quietS: number | null): string {
  return quietS === null ? 'waiting… no datagrams yet' : `waiting… no datagrams for ${fmtDuration(quietS)}`;
}

export function beatsLabel(marks: readonly HeartbeatMark[]): string {
  const n = Object.fromEntries(heartbeatMarkSchema.options.map((m) => [m, 0])) as Record<
    HeartbeatMark,
    number
  >;
  for (const m of marks) n[m]++;
  const parts = (Object.keys(n) as HeartbeatMark[]).filter((k) => n[k] > 0).map((k) => `${n[k]} ${k}`);
  return `last ${marks.length} beats: ${parts.join(', ') || 'none'}`;
}

export interface Overall {
  /** ok | warn | bad | idle */
  level: string;
  verdict: string;
  counts: string;
  problems: string;
  /** Prefix for the document title. */
  title: string;
}

/**
 * The one-second answer: the banner at the top of the page. `senders` may be
 * the most urgent ones only; `totals`, when given, count all senders.
 */
export function overall(
  senders: ReadonlyArray<{ source: string; state: SenderState }>,
  totals?: Readonly<Record<SenderState, number>>,
): Overall {
  const by = Object.fromEntries(SENDER_STATES.map((s) => [s, [] as string[]])) as Record<
    SenderState,
    string[]
  >;
  for (const s of senders) by[s.state].push(s.source);
  const n = (state: SenderState) => totals?.[state] ?? by[state].length;
  const plural = (k: number) => (k === 1 ? 'sender' : 'senders');
  const waiting = n('pending') > 0 ? ` · ${n('pending')} pending` : '';
  const counts = `${n('up')} up · ${n('late')} late · ${n('down')} down · ${n('stopped')} stopped${waiting}`;
  const names = (state: SenderState) => {
    const list = by[state];
    if (list.length === 0) return '';
    const shown = list.slice(0, 5).join(', ');
    return `${state}: ${shown}${list.length > 5 ? ` and ${list.length - 5} more` : ''}`;
  };
  const problems = [names('down'), names('late')].filter(Boolean).join(' · ');
  if (n('down') > 0) {
    const late = n('late') > 0 ? `, ${n('late')} late` : '';
    return {
      level: 'bad',
      verdict: `${n('down')} ${plural(n('down'))} down${late}`,
      counts,
      problems,
      title: `(${n('down')} down) `,
    };
  }
  if (n('late') > 0) {
    return {
      level: 'warn',
      verdict: `${n('late')} ${plural(n('late'))} late`,
      counts,
      problems,
      title: `(${n('late')} late) `,
    };
  }
  if (n('up') > 0) {
    const all =
      n('stopped') === 0 ? `All ${n('up')} ${plural(n('up'))} up` : `${n('up')} up, none late or down`;
    return { level: 'ok', verdict: all, counts, problems, title: '' };
  }
  if (n('pending') > 0) {
    return {
      level: 'idle',
      verdict: `Waiting for ${n('pending')} declared ${plural(n('pending'))}`,
      counts,
      problems,
      title: '(pending) ',
    };
  }
  if (n('stopped') > 0) {
    return { level: 'idle', verdict: `All ${n('stopped')} stopped`, counts, problems, title: '(stopped) ' };
  }
  return { level: 'idle', verdict: 'No senders yet', counts, problems, title: '' };
}

export function sortSenders<T extends { source: string; state: SenderState }>(senders: readonly T[]): T[] {
  return [...senders].sort(
    (a, b) =>
      STATE_URGENCY[a.state] - STATE_URGENCY[b.state] ||
      (a.source < b.source ? -1 : a.source > b.source ? 1 : 0),
  );
}

// --- rows ---------------------------------------------------------------------

/**
 * The heartbeat bar, run-length encoded to keep the page small: each run of
 * equal marks is drawn by a few <i> whose widths are powers of two slots
 * (page.css draws a slot every 6 px). A full bar of received beats is three
 * elements; the worst case, alternating marks, is fifty.
 */
export function beatRuns(marks: readonly HeartbeatMark[]): Array<{ mark: HeartbeatMark; slots: number }> {
  const runs: Array<{ mark: HeartbeatMark; slots: number }> = [];
  for (let i = 0; i < marks.length; ) {
    const mark = marks[i] as HeartbeatMark;
    let j = i + 1;
    while (j < marks.length && marks[j] === mark) j++;
    let left = j - i;
    for (const slots of RUN_SLOTS) {
      if (left >= slots) {
        runs.push({ mark, slots });
        left -= slots;
      }
    }
    i = j;
  }
  return runs;
}
const RUN_SLOTS = [32, 16, 8, 4, 2, 1];

/** The class of one run: its mark (none for received) and width (none for one slot). */
export function runClass(mark: HeartbeatMark, slots: number): string {
  return [MARK_CLASS[mark], slots > 1 ? `w${slots}` : ''].filter(Boolean).join(' ');
}

function beatsBar(marks: readonly HeartbeatMark[]): string {
  let bar = '';
  for (const { mark, slots } of beatRuns(marks)) {
    const cls = runClass(mark, slots);
    bar += cls === '' ? '<i></i>' : `<i class="${cls}"></i>`;
  }
  return `<span class="hb" role="img" aria-label="${e(beatsLabel(marks))}">${bar}</span>`;
}

/** The sender cell's tooltip; stale and restarts only when there are any. */
export function senderInfo(
  s: Pick<
    SenderView,
    'source' | 'displayName' | 'kind' | 'boot' | 'intervalMs' | 'received' | 'stale' | 'restarts' | 'declared'
  >,
) {
  const extra = `${s.stale > 0 ? ` · ${s.stale} stale` : ''}${s.restarts > 0 ? ` · ${s.restarts} restarts` : ''}`;
  const how = s.kind === 'text' ? 'plain text' : s.boot === null ? 'no boot yet' : `boot ${s.boot}`;
  const every = s.intervalMs === null ? 'interval not known yet' : `every ${fmtMs(s.intervalMs)}`;
  const named = s.displayName === null ? '' : `${s.source} · `;
  return `${named}${s.declared ? 'declared · ' : ''}${how} · ${every} · ${s.received} received${extra}`;
}

/** The sender's own page (its incidents); page.js builds the same. */
export function senderHref(source: string): string {
  return `/senders/${encodeURIComponent(source)}`;
}

/** "3 s ago", or "never" for a declared sender not heard from yet. */
export function heardText(lastSeenMs: number | null, nowMs: number): string {
  return lastSeenMs === null ? 'never' : `${fmtDuration((nowMs - lastSeenMs) / 1000)} ago`;
}

/** The last sequence number; plain text has none. */
export function seqText(lastSeq: number | null): string {
  return lastSeq === null ? '–' : String(lastSeq);
}

/**
 * A sender row; with no sender, the empty row page.js clones (same cells).
 * As HTML allows, no </th> and </td> end tags: 500 rows stay small.
 * Cells are styled by position in page.css (sender, state, last heard, seq,
 * lost/dup/ooo, delay, jitter, uptime, beats).
 */
function senderRow(s: SenderView | null, nowMs: number): string {
  if (s === null) {
    return '<tr><th><a></a><td><span class="badge"></span> <small></small><td><td><td><td><td><td><td><span class="hb" role="img" aria-label=""></span></tr>';
  }
  const info = senderInfo(s);
  // Why a sender is not up (no_beat, missed_3, bye); "up" needs no explanation.
  const why = s.state === 'up' ? '' : ` title="${e(s.reason)}"`;
  const loss = s.lost > 0 ? ' class="bad"' : '';
  return `<tr class="s-${e(s.state)}" data-source="${e(s.source)}"><th title="${e(info)}"><a href="${senderHref(s.source)}">${e(s.displayName ?? s.source)}</a><td${why} data-at="${s.stateSinceMs}"><span class="badge">${s.maintenance ? 'maintenance' : e(s.state)}</span> <small>${fmtDuration((nowMs - s.stateSinceMs) / 1000)}</small><td data-at="${s.lastSeenMs ?? ''}">${heardText(s.lastSeenMs, nowMs)}<td>${seqText(s.lastSeq)}<td${loss}>${s.lost} / ${s.duplicates} / ${s.outOfOrder}<td>${fmtMs(s.delay.lastMs)}<td>${fmtMs(s.jitterMs)}<td>${fmtPct(s.uptime.h1)} / ${fmtPct(s.uptime.h24)}<td>${beatsBar(s.heartbeats)}</tr>`;
}

/**
 * A datagram row: cells styled by position in page.css, no class for a beat
 * (the common case) and, as HTML allows, no </td> and </tr> end tags: 100
 * rows stay small. The text column shows the datagram's text; a rejected
 * datagram's reason comes first, then its text preview or the decoder's
 * detail.
 */
function datagramRow(r: Received | null): string {
  if (r === null) return '<tr><td><td><td><td><td><td>';
  const why = r.kind === 'rejected' && r.reason !== null ? `<b class="why">${e(r.reason)}</b> ` : '';
  const text = r.kind === 'rejected' ? (r.text ?? r.detail ?? '') : (r.text ?? '');
  const cls = r.kind === 'beat' ? '' : ` class="d-${e(r.kind)}"`;
  return `<tr${cls}><td>${fmtTime(r.receivedAtMs)}<td>${e(r.kind)}<td>${e(r.source ?? r.from)}<td>${r.seq ?? ''}<td>${fmtMs(r.delayMs)}<td>${why}${e(text)}`;
}

function markRow(quietS: number | null): string {
  return `<tr class="mark"><td colspan="6">${waitingText(quietS)}`;
}

/** Newest first, with a "waiting…" mark wherever nothing arrived for longer than quietMs. */
function datagramRows(recent: readonly Received[], nowMs: number, quietMs: number): string {
  const first = recent[0];
  if (first === undefined) return markRow(null);
  let html = nowMs - first.receivedAtMs > quietMs ? markRow((nowMs - first.receivedAtMs) / 1000) : '';
  recent.forEach((r, i) => {
    html += datagramRow(r);
    const older = recent[i + 1];
    if (older !== undefined && r.receivedAtMs - older.receivedAtMs > quietMs) {
      html += markRow((r.receivedAtMs - older.receivedAtMs) / 1000);
    }
  });
  return html;
}

/** The start of every page the monitor serves, up to (not including) </head>; `title` is HTML already. */
export function documentHead(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/page.css">`;
}

/** The monitor's own downtime, newest first: what nobody watched. */
function monitorAway(status: Status): string {
  const gaps = status.monitorDowntime.slice(0, 3);
  if (gaps.length === 0) return '';
  const list = gaps
    .map(
      (g) =>
        `${fmtTime(Date.parse(g.from)).slice(0, 8)}–${fmtTime(Date.parse(g.to)).slice(0, 8)} UTC (${fmtDuration(g.seconds)})`,
    )
    .join(', ');
  return `<p id="away">The monitor itself was away: ${list}. Senders' uptime over that time is unknown, neither up nor down.</p>`;
}

export interface SenderPageModel {
  sender: SenderView;
  lastNotification: LastNotification | null;
  incidents: ReadonlyArray<{ atMs: number; from: SenderState | null; to: SenderState; reason: string }>;
  status: Status;
  nowMs: number;
}

/** One sender: what the monitor knows of it and its state changes (incidents), across monitor restarts. */
export function renderSenderPage({
  sender: s,
  incidents,
  lastNotification: n,
  status,
  nowMs,
}: SenderPageModel): string {
  const name = s.displayName ?? s.source;
  const facts: Array<[string, string]> = [
    ['State', `${s.state} (${s.reason}) for ${fmtDuration((nowMs - s.stateSinceMs) / 1000)}`],
    ['Sender', senderInfo(s)],
    ['Last heard', heardText(s.lastSeenMs, nowMs)],
    ['Lost / dup / ooo', `${s.lost} / ${s.duplicates} / ${s.outOfOrder}`],
    ['Uptime 1 h / 24 h', `${fmtPct(s.uptime.h1)} / ${fmtPct(s.uptime.h24)}`],
    ['Maintenance', s.maintenance ? 'yes: under a silence (planned downtime, no notifications)' : 'no'],
    [
      'Last notification',
      n === null
        ? 'none'
        : `${n.event} to ${n.target}, ${fmtDuration((nowMs - n.createdAtMs) / 1000)} ago: ${n.status}` +
          `${n.attempts > 1 ? ` after ${n.attempts} attempts` : ''}${n.lastError === null ? '' : ` (${n.lastError})`}`,
    ],
  ];
  const rows = incidents
    .map(
      (i) =>
        `<tr class="s-${e(i.to)}"><td>${new Date(i.atMs).toISOString().replace('T', ' ').slice(0, 19)}<td>${e(i.from ?? 'new')} → <span class="badge">${e(i.to)}</span><td>${e(i.reason)}`,
    )
    .join('\n');
  return `${documentHead(`${e(name)} · ${TITLE}`)}
</head>
<body>
<header>
<h1>${e(name)}</h1>
<p><a href="/">all senders</a></p>
</header>
<main>
<section aria-labelledby="facts-h">
<h2 id="facts-h">Now</h2>
<table id="facts"><tbody>${facts.map(([k, v]) => `<tr><th>${k}</th><td>${e(v)}</td></tr>`).join('')}</tbody></table>
${monitorAway(status)}
</section>
<section aria-labelledby="incidents-h">
<h2 id="incidents-h">Incidents</h2>
<div class="scroll">
<table id="incidents">
<thead><tr><th>At (UTC)</th><th>Change</th><th>Why</th></tr></thead>
<tbody>${rows || '<tr class="empty"><td colspan="3">No state changes recorded.'}</tbody>
</table>
</div>
</section>
</main>
<footer>
<p><a href="/api/senders/${encodeURIComponent(s.source)}">JSON</a> · <a href="/api/senders/${encodeURIComponent(s.source)}/incidents">incidents as JSON</a></p>
</footer>
</body>
</html>
`;
}

/** The status page, in chunks of bounded length (text-chunks.ts); joined, its HTML. */
export function renderPage(model: PageModel): string[] {
  const { status, nowMs } = model;
  const quietMs = model.quietMs ?? 5000;
  const all = sortSenders(model.senders);
  const senders = all.slice(0, PAGE_SENDER_LIMIT);
  const recent = model.recent.slice(0, PAGE_DATAGRAM_ROWS);
  const ov = overall(all, status.senders.byState);
  const lastMs = status.lastDatagramAt === null ? null : Date.parse(status.lastDatagramAt);
  const q = model.q ?? '';
  const more =
    q !== ''
      ? `<p class="more">Senders whose id or name contains “${e(q)}”, the most urgent first${senders.length === PAGE_SENDER_LIMIT ? ` (the first ${PAGE_SENDER_LIMIT}; all of them: <a href="/api/senders?q=${encodeURIComponent(q)}">/api/senders?q=</a>)` : ''}.</p>`
      : status.senders.total > senders.length
        ? `<p class="more">${status.senders.total - senders.length} more senders: find one with the box above, or see <a href="/api/senders">/api/senders</a></p>`
        : '';
  const find = `<form id="find" role="search" action="/"><input id="q" type="search" name="q" value="${e(q)}" maxlength="${PAGE_QUERY_MAX}" aria-label="Find a sender"> <button>Find</button>${q === '' ? '' : ' <a href="/">all</a>'}</form>`;
  const emptyText = q === '' ? 'No senders yet: waiting for the first beat.' : 'No sender matches.';
  // The rows in chunks (text-chunks.ts): 500 of them are 225–550 KB. The empty-table row stays in the
  // page (hidden) so page.js can show it again.
  const rows = textChunks();
  for (const s of senders) rows.add(`${senderRow(s, nowMs)}\n`);
  rows.add(`<tr class="empty"${senders.length > 0 ? ' hidden' : ''}><td colspan="9">${emptyText}</td></tr>`);
  const head = `${documentHead(`${ov.title}${TITLE}`)}
<noscript><meta http-equiv="refresh" content="${NO_JS_REFRESH_S}"></noscript>
<script type="module" src="/static/page.js"></script>
</head>
<body data-now="${nowMs}" data-quiet-ms="${quietMs}" data-rows="${PAGE_DATAGRAM_ROWS}"${q === '' ? '' : ` data-q="${e(q)}"`} ${VOCABULARY_ATTRIBUTES}>
<header>
<h1>${TITLE}</h1>
<p id="conn" data-state="static">snapshot ${fmtTime(nowMs).slice(0, 8)} UTC · refreshes every ${NO_JS_REFRESH_S} s</p>
</header>
<main>
<section id="overall" class="ov-${ov.level}" role="status" aria-live="polite" aria-atomic="true">
<strong id="verdict">${e(ov.verdict)}</strong>
<span id="counts">${ov.counts}</span>
<span id="problems">${e(ov.problems)}</span>
</section>
<p id="clock">last datagram <span id="last" data-at="${lastMs ?? ''}">${lastMs === null ? 'never' : `${fmtDuration((nowMs - lastMs) / 1000)} ago`}</span></p>
${monitorAway(status)}
<section aria-labelledby="senders-h">
<h2 id="senders-h">Senders</h2>
${find}
<div class="scroll">
<table id="senders">
<thead><tr><th>Sender</th><th>State</th><th>Last heard</th><th>Seq</th><th><abbr title="lost / duplicate / out of order">Lost / dup / ooo</abbr></th><th>Delay</th><th>Jitter</th><th>Uptime 1 h / 24 h</th><th>Last 50 beats</th></tr></thead>
<tbody>
`;
  const tail = `
</tbody>
</table>
</div>
<p class="legend" aria-hidden="true">beats, newest on the right: <span><i></i> received</span> <span><i class="l"></i> late</span> <span><i class="m"></i> missed</span> <span><i class="r"></i> restart</span></p>
${more}<template id="sender-tpl">${senderRow(null, nowMs)}</template>
</section>
<section aria-labelledby="datagrams-h">
<h2 id="datagrams-h">Recent datagrams</h2>
<div class="scroll">
<table id="datagrams">
<thead><tr><th>Received (UTC)</th><th>Kind</th><th>Sender / from</th><th>Seq</th><th>Delay</th><th>Text</th></tr></thead>
<tbody>${datagramRows(recent, nowMs, quietMs)}</tbody>
</table>
</div>
<template id="datagram-tpl">${datagramRow(null)}</template>
</section>
</main>
<footer>
<p>monitor ${e(status.version)} · UDP port ${status.udp.port} · <a href="/api/status">status</a> · <a href="/api/senders">senders</a> · <a href="/api/datagrams">datagrams</a> · <a href="/metrics">metrics</a> · <a href="/silences">silences</a> · <a href="/api/openapi.json">API</a></p>
</footer>
</body>
</html>
`;
  return [head, ...rows.close(), tail];
}
