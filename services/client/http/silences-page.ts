/**
 * The silences page: what is under maintenance until when, a form to add
 * or end a silence, and one to send a test notification to every target.
 * The forms are sent by /static/silences.js with the admin token typed in
 * by the operator, as an Authorization header; the token is never stored in
 * the page, the browser or a cookie.
 */
import { fmtDuration } from '../../shared/duration.js';
import type { Silence } from '../notify/silences.js';
import { escapeHtml as e } from './escape.js';
import { documentHead } from './page.js';

export function renderSilencesPage({
  silences,
  nowMs,
}: {
  silences: readonly Silence[];
  nowMs: number;
}): string {
  const rows = silences
    .map(
      (s) =>
        `<tr data-id="${e(s.id)}"><td><code>${e(s.sources)}</code><td>${new Date(s.until).toISOString().replace('T', ' ').slice(0, 16)} UTC (${fmtDuration((s.until - nowMs) / 1000)} left)<td>${e(s.comment)}<td><button type="button" class="end" data-id="${e(s.id)}">End</button>`,
    )
    .join('\n');
  return `${documentHead('Silences · udp-time-service monitor')}
<script type="module" src="/static/silences.js"></script>
</head>
<body>
<header>
<h1>Silences</h1>
<p><a href="/">all senders</a></p>
</header>
<main>
<p><label>Admin token, for the changes below (sent with each, cleared once one is made, never stored) <input id="token" type="password" autocomplete="off"></label></p>
<section aria-labelledby="active-h">
<h2 id="active-h">In force</h2>
<p>A silenced sender shows <b>maintenance</b>: its downtime counts as planned and it notifies nobody.</p>
<div class="scroll">
<table id="silences">
<thead><tr><th>Senders (glob)</th><th>Until</th><th>Comment</th><th></th></tr></thead>
<tbody>${rows || '<tr class="empty"><td colspan="4">No silences.'}</tbody>
</table>
</div>
</section>
<section aria-labelledby="add-h">
<h2 id="add-h">Add a silence</h2>
<form id="add-silence">
<p><label>Senders (glob: <code>*</code> any run, <code>?</code> one character) <input name="sources" required maxlength="256" placeholder="backup-*"></label></p>
<p><label>For or until (<code>2h</code>, or an ISO time) <input name="until" required placeholder="2h"></label></p>
<p><label>Comment <input name="comment" maxlength="500" placeholder="nightly maintenance"></label></p>
<p><button type="submit">Silence</button> <output id="result" role="status"></output></p>
</form>
<noscript><p>Adding and ending silences needs JavaScript here, or the API: <code>POST /api/silences</code> with <code>Authorization: Bearer &lt;token&gt;</code>.</p></noscript>
</section>
<section aria-labelledby="test-h">
<h2 id="test-h">Test the notifications</h2>
<p>Sends a test notification to every webhook and Alertmanager (or to one), now and once, and shows how each took it.</p>
<form id="test-notify">
<p><label>About a sender (optional) <input name="source" maxlength="64" placeholder="billing"></label></p>
<p><label>Only the target (optional: its label, as the log names it) <input name="target" maxlength="300" placeholder="https://hooks.slack.com#2"></label></p>
<p><button type="submit">Send a test</button> <output id="test-result" role="status"></output></p>
</form>
<ul id="test-targets"></ul>
<noscript><p>Or with the API: <code>POST /api/notifications/test</code> with <code>Authorization: Bearer &lt;token&gt;</code>.</p></noscript>
</section>
</main>
</body>
</html>
`;
}
