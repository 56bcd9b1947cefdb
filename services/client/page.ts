/**
 * The status page, rendered complete on the server (it works without
 * JavaScript, refreshing itself); /static/page.js then keeps it live over
 * Server-Sent Events. Every datagram-derived string goes through escapeHtml.
 */
import type { Status } from './api.js';
import { escapeHtml as e } from './escape.js';
import type { Received } from './history.js';
import type { SenderView } from './tracker.js';

export interface PageModel {
  status: Status;
  senders: SenderView[];
  recent: Received[];
  nowMs: number;
}

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

function senderRow(s: SenderView, nowMs: number): string {
  const ago = Math.max(0, Math.round((nowMs - s.lastSeenMs) / 1000));
  return `<tr data-source="${e(s.source)}" class="state-${e(s.state)}">
<td class="source">${e(s.source)}</td>
<td class="state"><span class="badge">${e(s.state)}</span></td>
<td class="ago" data-last-seen="${s.lastSeenMs}">${ago} s ago</td>
<td class="num">${s.lastSeq}</td>
<td class="num">${s.lost}/${s.duplicates}/${s.outOfOrder}</td>
<td class="num">${s.delay.lastMs.toFixed(1)} ms</td>
<td class="num">${s.jitterMs.toFixed(2)} ms</td>
<td class="num">${s.uptime.h1 === null ? '–' : `${s.uptime.h1.toFixed(1)}%`} / ${s.uptime.h24 === null ? '–' : `${s.uptime.h24.toFixed(1)}%`}</td>
</tr>`;
}

function datagramRow(r: Received): string {
  const who = r.source ?? r.from;
  const note = r.reason ? `<span class="reason">${e(r.reason)}</span> ` : '';
  return `<tr class="kind-${e(r.kind)}" data-id="${r.id}">
<td>${e(iso(r.receivedAtMs))}</td>
<td>${e(r.kind)}</td>
<td class="source">${e(who)}</td>
<td class="num">${r.seq ?? ''}</td>
<td>${e(iso(r.sentAtMs))}</td>
<td class="text">${note}${e(r.text ?? r.detail ?? '')}</td>
</tr>`;
}

export function renderPage(model: PageModel): string {
  const { status, senders, recent, nowMs } = model;
  const counts = status.senders.byState;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>udp-time-service monitor</title>
<noscript><meta http-equiv="refresh" content="5"></noscript>
<link rel="stylesheet" href="/static/page.css">
<script src="/static/page.js" defer></script>
</head>
<body>
<header>
<h1>udp-time-service monitor</h1>
<p id="summary" aria-live="polite">${counts.up} up · ${counts.late} late · ${counts.down} down · ${counts.stopped} stopped · ${status.totals.datagrams} datagrams</p>
</header>
<main>
<section aria-labelledby="senders-h">
<h2 id="senders-h">Senders</h2>
<table id="senders">
<thead><tr><th>Sender</th><th>State</th><th>Last heard</th><th>Seq</th><th>Lost/dup/ooo</th><th>Delay</th><th>Jitter</th><th>Uptime 1 h / 24 h</th></tr></thead>
<tbody>${senders.map((s) => senderRow(s, nowMs)).join('\n')}</tbody>
</table>
</section>
<section aria-labelledby="datagrams-h">
<h2 id="datagrams-h">Recent datagrams</h2>
<table id="datagrams">
<thead><tr><th>Received</th><th>Kind</th><th>Sender</th><th>Seq</th><th>Sent</th><th>Text</th></tr></thead>
<tbody aria-live="polite">${recent.map(datagramRow).join('\n')}</tbody>
</table>
</section>
</main>
</body>
</html>
`;
}
