// The live page: SSE from /api/events updates the server's rows in place;
// network strings are set only as text. Mirrors services/client/http/page.ts.

const body = document.body;
const $ = (id) => document.getElementById(id);
const QUIET_MS = Number(body.dataset.quietMs) || 5000;
const MAX_ROWS = Number(body.dataset.rows) || 100;
/** The search box's text. */
const QUERY = body.dataset.q || '';
const TITLE = 'udp-time-service monitor';
/** No event for this long (senders come every 250 ms): the stream is dead, reconnect. */
const SILENCE_MS = 5000;
// Closed sets, from the server (services/shared/vocabulary.ts).
const SEVERITY = JSON.parse(body.dataset.urgency || '{}');
const KINDS = JSON.parse(body.dataset.kinds || '[]');
const MARKS = JSON.parse(body.dataset.marks || '[]');
const MARK_CLASS = { received: '', late: 'l', missed: 'm', restart: 'r' };
const has = (object, key) => Object.hasOwn(object, key);

/** The monitor's clock minus ours: ages are counted on the monitor's clock. */
let offset = Number(body.dataset.now) - Date.now() || 0;
const now = () => Date.now() + offset;

// --- formatters (as in page.ts) ---

function fmtDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172800) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

function fmtMs(value) {
  if (value === null || !Number.isFinite(value)) return '';
  const a = Math.abs(value);
  if (a < 10) return `${value.toFixed(1)} ms`;
  if (a < 1000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(a < 100000 ? 1 : 0)} s`;
}

const fmtPct = (value) =>
  value === null ? '–' : value >= 100 ? '100%' : `${(Math.floor(value * 10) / 10).toFixed(1)}%`;
const ago = (ms, nowMs) => `${fmtDuration((nowMs - ms) / 1000)} ago`;
const waitingText = (quietS) =>
  quietS === null ? 'waiting… no datagrams yet' : `waiting… no datagrams for ${fmtDuration(quietS)}`;

function senderInfo(s) {
  const extra = `${s.stale > 0 ? ` · ${s.stale} stale` : ''}${s.restarts > 0 ? ` · ${s.restarts} restarts` : ''}`;
  const how = s.kind === 'text' ? 'plain text' : s.boot === null ? 'no boot yet' : `boot ${s.boot}`;
  const every = s.intervalMs === null ? 'interval not known yet' : `every ${fmtMs(s.intervalMs)}`;
  const named = s.displayName === null ? '' : `${s.source} · `;
  return `${named}${s.declared ? 'declared · ' : ''}${how} · ${every} · ${s.received} received${extra}`;
}

const heardText = (lastSeenMs, nowMs) => (lastSeenMs === null ? 'never' : ago(lastSeenMs, nowMs));
const seqText = (lastSeq) => (lastSeq === null ? '–' : String(lastSeq));

function beatsLabel(marks) {
  const n = Object.fromEntries(MARKS.map((m) => [m, 0]));
  for (const m of marks) if (has(n, m)) n[m]++;
  const parts = Object.keys(n)
    .filter((k) => n[k] > 0)
    .map((k) => `${n[k]} ${k}`);
  return `last ${marks.length} beats: ${parts.join(', ') || 'none'}`;
}

/** `senders` may be the most urgent ones only; `totals` (when the server sent them) count all. */
function overall(senders, totals) {
  const by = Object.fromEntries(Object.keys(SEVERITY).map((state) => [state, []]));
  for (const s of senders) if (has(by, s.state)) by[s.state].push(s.source);
  const { up, late, down, stopped, pending } = Object.fromEntries(
    Object.entries(by).map(([k, list]) => [k, totals?.[k] ?? list.length]),
  );
  const plural = (k) => `${k} ${k === 1 ? 'sender' : 'senders'}`;
  const counts = `${up} up · ${late} late · ${down} down · ${stopped} stopped${pending > 0 ? ` · ${pending} pending` : ''}`;
  const problems = ['down', 'late']
    .filter((state) => by[state].length > 0)
    .map((state) => {
      const list = by[state];
      return `${state}: ${list.slice(0, 5).join(', ')}${list.length > 5 ? ` and ${list.length - 5} more` : ''}`;
    })
    .join(' · ');
  const o = (level, verdict, title = '') => ({ level, verdict, counts, problems, title });
  if (down > 0) return o('bad', `${plural(down)} down${late > 0 ? `, ${late} late` : ''}`, `(${down} down) `);
  if (late > 0) return o('warn', `${plural(late)} late`, `(${late} late) `);
  if (up > 0) return o('ok', stopped === 0 ? `All ${plural(up)} up` : `${up} up, none late or down`);
  if (pending > 0)
    return o('idle', `Waiting for ${pending} declared ${pending === 1 ? 'sender' : 'senders'}`, '(pending) ');
  if (stopped > 0) return o('idle', `All ${stopped} stopped`, '(stopped) ');
  return o('idle', 'No senders yet');
}

/** Writes only on change: no needless layout, and no repeated announcements in live regions. */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// --- banner and connection state ---

let lost = false;

function showOverall(o) {
  if (lost) return;
  $('overall').className = `ov-${o.level}`;
  setText($('verdict'), o.verdict);
  setText($('counts'), o.counts);
  setText($('problems'), o.problems);
  document.title = o.title + TITLE;
}

function setConnection(state, text) {
  $('conn').dataset.state = state;
  setText($('conn'), text);
}

function setLost(isLost) {
  if (isLost === lost) return;
  lost = isLost;
  body.classList.toggle('lost', lost);
  if (!lost) return;
  setConnection('lost', 'connection lost: reconnecting…');
  $('overall').className = 'ov-lost';
  setText($('verdict'), 'No connection to the monitor');
  setText($('counts'), `shown as of ${new Date(now()).toISOString().slice(11, 19)} UTC`);
  setText($('problems'), '');
  document.title = `(no connection) ${TITLE}`;
}

// --- senders ---

const senderBody = $('senders').tBodies[0];
const senderTemplate = $('sender-tpl').content.firstElementChild;
const emptyRow = senderBody.querySelector('tr.empty');
/** source -> row, adopting the server-rendered rows. */
const senderRows = new Map();
for (const tr of senderBody.rows) if (tr.dataset.source !== undefined) senderRows.set(tr.dataset.source, tr);
const barKeys = new WeakMap();

/** Runs of equal marks in power-of-two widths, as beatRuns/runClass in page.ts. */
function beatsBar(marks) {
  const runs = [];
  for (let i = 0; i < marks.length; ) {
    let j = i + 1;
    while (j < marks.length && marks[j] === marks[i]) j++;
    let left = j - i;
    const mark = has(MARK_CLASS, marks[i]) ? MARK_CLASS[marks[i]] : 'm';
    for (const slots of [32, 16, 8, 4, 2, 1]) {
      if (left < slots) continue;
      left -= slots;
      const run = document.createElement('i');
      run.className = [mark, slots > 1 ? `w${slots}` : ''].filter(Boolean).join(' ');
      runs.push(run);
    }
    i = j;
  }
  return runs;
}

function fillSender(tr, s, nowMs) {
  const state = has(SEVERITY, s.state) ? s.state : 'down';
  tr.className = `s-${state}`;
  const [src, st, heard, seq, loss, delay, jitter, uptime, beats] = tr.cells;
  const link = src.firstElementChild;
  setText(link, s.displayName ?? s.source);
  link.href = `/senders/${encodeURIComponent(s.source)}`;
  src.title = senderInfo(s);
  st.dataset.at = Date.parse(s.stateSince);
  if (state === 'up') st.removeAttribute('title');
  else st.title = s.reason;
  setText(st.firstElementChild, s.maintenance ? 'maintenance' : state);
  setText(st.lastElementChild, fmtDuration((nowMs - st.dataset.at) / 1000));
  heard.dataset.at = s.lastSeen === null ? '' : Date.parse(s.lastSeen);
  setText(heard, heardText(s.lastSeen === null ? null : Number(heard.dataset.at), nowMs));
  setText(seq, seqText(s.lastSeq));
  setText(loss, `${s.lost} / ${s.duplicates} / ${s.outOfOrder}`);
  loss.className = s.lost > 0 ? 'bad' : '';
  setText(delay, fmtMs(s.delay.lastMs));
  setText(jitter, fmtMs(s.jitterMs));
  setText(uptime, `${fmtPct(s.uptime.h1)} / ${fmtPct(s.uptime.h24)}`);
  const key = s.heartbeats.join();
  if (barKeys.get(tr) !== key) {
    barKeys.set(tr, key);
    beats.firstElementChild.replaceChildren(...beatsBar(s.heartbeats));
    beats.firstElementChild.setAttribute('aria-label', beatsLabel(s.heartbeats));
  }
}

/** The full list, every 250 ms: update rows in place, problems first (down, late, stopped, up). */
function onSenders(list) {
  const nowMs = now();
  const sorted = list
    .filter((s) => !QUERY || s.source.includes(QUERY) || s.displayName?.includes(QUERY))
    .sort(
      (a, b) =>
        (SEVERITY[a.state] ?? 0) - (SEVERITY[b.state] ?? 0) ||
        (a.source < b.source ? -1 : a.source > b.source ? 1 : 0),
    );
  const seen = new Set();
  let previous = null;
  for (const s of sorted) {
    seen.add(s.source);
    let tr = senderRows.get(s.source);
    if (tr === undefined) {
      tr = senderTemplate.cloneNode(true);
      tr.dataset.source = s.source;
      senderRows.set(s.source, tr);
    }
    fillSender(tr, s, nowMs);
    const at = previous === null ? senderBody.firstElementChild : previous.nextElementSibling;
    if (at !== tr) senderBody.insertBefore(tr, at);
    previous = tr;
  }
  // Searching: matches stay.
  for (const [source, tr] of senderRows) {
    if (seen.has(source) || QUERY) continue;
    tr.remove();
    senderRows.delete(source);
  }
  emptyRow.hidden = senderRows.size > 0;
  showOverall(overall(sorted, totals));
}

// --- datagrams ---

const datagramBody = $('datagrams').tBodies[0];
const datagramTemplate = $('datagram-tpl').content.firstElementChild;
let datagramRows = datagramBody.querySelectorAll('tr:not(.mark)').length;
let queue = [];
let queueTimer = 0;
/** Datagrams arriving while the list is re-fetched; null otherwise. */
let held = null;

function datagramRow(d) {
  const tr = datagramTemplate.cloneNode(true);
  const kind = KINDS.includes(d.kind) ? d.kind : 'rejected';
  if (kind !== 'beat') tr.className = `d-${kind}`;
  const [time, kindCell, from, seq, delay, text] = tr.cells;
  time.textContent = String(d.receivedAt).slice(11, 23);
  kindCell.textContent = kind;
  from.textContent = d.source ?? d.from;
  seq.textContent = d.seq ?? '';
  delay.textContent = fmtMs(d.delayMs);
  if (kind === 'rejected' && d.reason) {
    const why = document.createElement('b');
    why.className = 'why';
    why.textContent = d.reason;
    text.append(why, ' ');
  }
  text.append(kind === 'rejected' ? (d.text ?? d.detail ?? '') : (d.text ?? ''));
  return tr;
}

function markRow(quietS) {
  const tr = document.createElement('tr');
  tr.className = 'mark';
  const td = tr.insertCell();
  td.colSpan = 6;
  td.textContent = waitingText(quietS);
  return tr;
}

/** Keeps MAX_ROWS datagram rows, and no "waiting…" mark below the oldest one. */
function trimDatagrams() {
  for (let last = datagramBody.lastElementChild; last !== null; last = datagramBody.lastElementChild) {
    const isMark = last.classList.contains('mark');
    if (isMark ? datagramRows === 0 : datagramRows <= MAX_ROWS) break;
    if (!isMark) datagramRows--;
    last.remove();
  }
}

function flushQueue() {
  clearTimeout(queueTimer);
  queueTimer = 0;
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  const rows = document.createDocumentFragment();
  for (let i = batch.length - 1; i >= 0; i--) rows.append(datagramRow(batch[i]));
  datagramBody.prepend(rows);
  datagramRows += batch.length;
  trimDatagrams();
  $('last').dataset.at = Date.parse(batch[batch.length - 1].receivedAt);
}

function onDatagram(d) {
  if (held !== null) return held.push(d);
  queue.push(d);
  if (queue.length > MAX_ROWS) queue.shift();
  if (queueTimer === 0) queueTimer = setTimeout(flushQueue, 0);
}

/** The original's "waiting...": one quiet separator per silence, kept up to date. */
function onMark(m) {
  offset = Date.parse(m.at) - Date.now() || offset;
  if (held !== null || m.datagramsSinceMark !== 0) return;
  flushQueue();
  const top = datagramBody.firstElementChild;
  if (top?.classList.contains('mark')) setText(top.cells[0], waitingText(m.sinceLastDatagramS));
  else datagramBody.prepend(markRow(m.sinceLastDatagramS));
}

/** Newest first, with a mark wherever nothing came for longer than QUIET_MS, as page.ts renders it. */
function rebuildDatagrams(list) {
  const at = list.map((d) => Date.parse(d.receivedAt));
  const rows = document.createDocumentFragment();
  if (list.length === 0) rows.append(markRow(null));
  else if (now() - at[0] > QUIET_MS) rows.append(markRow((now() - at[0]) / 1000));
  list.forEach((d, i) => {
    rows.append(datagramRow(d));
    if (at[i] - at[i + 1] > QUIET_MS) rows.append(markRow((at[i] - at[i + 1]) / 1000));
  });
  queue = [];
  datagramBody.replaceChildren(rows);
  datagramRows = list.length;
  $('last').dataset.at = at[0] ?? '';
}

/**
 * On every (re)connection, the list as the monitor has it now: nothing sent
 * while the page loaded or was disconnected is missing (after a monitor
 * restart, that is the new monitor's history). Live datagrams are held
 * meanwhile and applied after it.
 */
let resyncs = 0;
async function resync() {
  const generation = ++resyncs;
  held = [];
  let newestId = -1;
  try {
    const res = await fetch(`/api/datagrams?limit=${MAX_ROWS}`, { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const list = await res.json();
    if (generation !== resyncs) return;
    rebuildDatagrams(list);
    newestId = list[0]?.id ?? -1;
  } catch {
    // Keep what is shown; live events carry on.
  }
  if (generation !== resyncs) return;
  const late = held;
  held = null;
  for (const d of late) if (d.id > newestId) onDatagram(d);
}

// --- the event stream ---

let source = null;
let lastEventAt = 0;
let retryTimer = 0;
/** All senders per state: the snapshot lists the most urgent 500 only. */
let totals;
const handlers = { counts: (c) => (totals = c), senders: onSenders, datagram: onDatagram, mark: onMark };

function connect() {
  clearTimeout(retryTimer);
  source?.close();
  const es = new EventSource('/api/events');
  source = es;
  if (!lost) setConnection('connecting', 'connecting…');
  es.addEventListener('open', () => {
    lastEventAt = Date.now();
    setLost(false);
    setConnection('live', 'live');
    resync();
  });
  es.addEventListener('error', () => {
    if (es !== source) return;
    setLost(true);
    // The browser retries by itself, unless the server refused the stream (503: too many clients).
    if (es.readyState === EventSource.CLOSED) retryTimer = setTimeout(connect, SILENCE_MS);
  });
  for (const [type, handle] of Object.entries(handlers)) {
    es.addEventListener(type, (event) => {
      lastEventAt = Date.now();
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      handle(data);
    });
  }
}

/** Every second: ages tick on, and a stream gone silent (half-open TCP) is replaced. */
function tick() {
  const nowMs = now();
  for (const tr of senderRows.values()) {
    const [, st, heard] = tr.cells;
    setText(st.lastElementChild, fmtDuration((nowMs - st.dataset.at) / 1000));
    setText(heard, heardText(heard.dataset.at ? Number(heard.dataset.at) : null, nowMs));
  }
  const last = $('last');
  setText(last, last.dataset.at ? ago(last.dataset.at, nowMs) : 'never');
  if (source?.readyState === EventSource.OPEN && Date.now() - lastEventAt > SILENCE_MS) {
    setLost(true);
    connect();
  }
}

connect();
setInterval(tick, 1000);
