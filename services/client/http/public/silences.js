// The silences form: sends the admin token typed in as a Bearer header and
// forgets it (the field is cleared); nothing is stored. Network strings are
// set as text only.
const form = document.getElementById('add-silence');
const result = document.getElementById('result');
const tokenField = form.elements.namedItem('token');

function say(text) {
  result.textContent = text;
}

async function call(method, path, body) {
  const token = tokenField.value;
  if (token === '') {
    say('Type the admin token first.');
    return null;
  }
  const res = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.ok) return res;
  const answer = await res.json().catch(() => ({ message: res.statusText }));
  say(`${res.status}: ${answer.message ?? 'refused'}`);
  return null;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const res = await call('POST', '/api/silences', {
    sources: data.get('sources'),
    until: data.get('until'),
    comment: data.get('comment') ?? '',
  });
  if (res !== null) {
    tokenField.value = '';
    location.reload();
  }
});

for (const button of document.querySelectorAll('button.end')) {
  button.addEventListener('click', async () => {
    const res = await call('DELETE', `/api/silences/${encodeURIComponent(button.dataset.id)}`);
    if (res !== null) {
      tokenField.value = '';
      location.reload();
    }
  });
}
