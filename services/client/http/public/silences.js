// The silences page's forms: each sends the admin token typed in as a Bearer
// header and forgets it (the field is cleared); nothing is stored. Network
// strings are set as text only.
const tokenField = document.getElementById('token');
const silenceForm = document.getElementById('add-silence');
const silenceResult = document.getElementById('result');
const testForm = document.getElementById('test-notify');
const testResult = document.getElementById('test-result');
const testTargets = document.getElementById('test-targets');

/** Sends one write; its answer when it succeeded, else null, with why said in `output`. */
async function call(output, method, path, body) {
  const token = tokenField.value;
  if (token === '') {
    output.textContent = 'Type the admin token first.';
    return null;
  }
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    output.textContent = 'The monitor did not answer: try again.';
    return null;
  }
  if (res.ok) {
    tokenField.value = '';
    return res;
  }
  const answer = await res.json().catch(() => ({ message: res.statusText }));
  output.textContent = `${res.status}: ${answer.message ?? 'refused'}`;
  return null;
}

silenceForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(silenceForm);
  const res = await call(silenceResult, 'POST', '/api/silences', {
    sources: data.get('sources'),
    until: data.get('until'),
    comment: data.get('comment') ?? '',
  });
  if (res !== null) location.reload();
});

for (const button of document.querySelectorAll('button.end')) {
  button.addEventListener('click', async () => {
    const res = await call(silenceResult, 'DELETE', `/api/silences/${encodeURIComponent(button.dataset.id)}`);
    if (res !== null) location.reload();
  });
}

testForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  // One test at a time: each is an alert of its own in Alertmanager, so a second click would page twice.
  const button = testForm.querySelector('button[type="submit"]');
  if (button.disabled) return;
  button.disabled = true;
  testTargets.replaceChildren();
  const data = new FormData(testForm);
  const ask = {};
  for (const name of ['source', 'target']) {
    const value = (data.get(name) ?? '').trim();
    if (value !== '') ask[name] = value;
  }
  testResult.textContent = 'Sending…';
  try {
    await sendTest(Object.keys(ask).length === 0 ? undefined : ask);
  } finally {
    button.disabled = false;
  }
});

async function sendTest(body) {
  const res = await call(testResult, 'POST', '/api/notifications/test', body);
  if (res === null) return;
  const answer = await res.json().catch(() => null);
  if (answer === null) {
    testResult.textContent = 'The answer was cut off: try again.';
    return;
  }
  testResult.textContent = `${answer.sent} of ${answer.targets.length} took it.`;
  testTargets.replaceChildren(
    ...answer.targets.map((t) => {
      const item = document.createElement('li');
      item.className = t.ok ? 'sent' : 'failed';
      item.textContent = `${t.kind} ${t.target}: ${t.ok ? `sent (HTTP ${t.status}, ${t.ms} ms)` : `failed: ${t.error}`}`;
      return item;
    }),
  );
}
