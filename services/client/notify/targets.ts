/**
 * Where notifications go: webhook URLs (NOTIFY_WEBHOOK_URLS, or one per line
 * in NOTIFY_WEBHOOK_URLS_FILE) and Alertmanager base URLs. Slack and
 * Mattermost incoming webhooks carry their secret in the path, so a target
 * is logged and labelled in metrics by its `label` only: scheme, host and
 * port, never the path, query or user info. Like the other config parsers,
 * these return undefined for any bad item (the caller reports the variable);
 * nothing here ever puts the text it was given into a message.
 */

export interface WebhookTarget {
  /** The full URL, secret included: only ever handed to fetch. */
  url: URL;
  /** Safe to log and to use as a metric label: `https://hooks.slack.com`, `http://sink:9000#2`. */
  label: string;
}

/** Targets per list at most. */
export const MAX_TARGETS = 64;

/**
 * Webhook URLs: a list separated by commas or newlines (the variable), then
 * the lines of `fileText` (the file form: one URL per line, so a URL may
 * hold a comma);
 * blank items and lines starting with `#` are skipped. Empty text gives [].
 * undefined: an item is not an absolute http(s) URL with a host, contains
 * white space or a fragment, is there twice, or there are more than MAX_TARGETS.
 */
export function parseWebhookUrls(text: string, fileText = ''): WebhookTarget[] | undefined {
  return parseTargets([...items(text, /[,\n]/), ...items(fileText, '\n')], (url) => url.hash === '');
}

/**
 * Alertmanager base URLs (the client posts to `<base>/api/v2/alerts`), in
 * the same list form. A path prefix is allowed (Alertmanager behind a
 * proxy, or its --web.route-prefix); a query or fragment is not.
 */
export function parseAlertmanagerUrls(text: string): WebhookTarget[] | undefined {
  return parseTargets(items(text, /[,\n]/), (url) => url.hash === '' && url.search === '');
}

/**
 * The HTTP proxy notifications go through (NOTIFY_PROXY_URL): an http(s)
 * URL of the proxy itself, user info allowed (Basic proxy authentication),
 * no path but `/`, no query or fragment. Empty text gives null.
 */
export function parseProxyUrl(text: string): WebhookTarget | null | undefined {
  const item = text.trim();
  if (item === '') return null;
  const url = parseHttpUrl(item);
  if (url === undefined || url.pathname !== '/' || url.search !== '' || url.hash !== '') return undefined;
  return { url, label: targetLabel(url) };
}

/** The safe part of a URL: scheme, host and port (the default port left out). */
export function targetLabel(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** The items of a list separated by `separator`: trimmed, without blanks and `#` comments. */
function items(text: string, separator: string | RegExp): string[] {
  return text
    .split(separator)
    .map((item) => item.trim())
    .filter((item) => item !== '' && !item.startsWith('#'));
}

function parseTargets(list: readonly string[], accept: (url: URL) => boolean): WebhookTarget[] | undefined {
  if (list.length > MAX_TARGETS) return undefined;
  const targets: WebhookTarget[] = [];
  const seen = new Map<string, number>();
  const urls = new Set<string>();
  for (const item of list) {
    const url = parseHttpUrl(item);
    // A URL twice is a slip: it would be told everything twice, or (one queue per URL) once under two names.
    if (url === undefined || !accept(url) || urls.has(url.href)) return undefined;
    urls.add(url.href);
    const base = targetLabel(url);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    targets.push({ url, label: n === 1 ? base : `${base}#${n}` });
  }
  return targets;
}

/**
 * An absolute http(s) URL with a host, written out in full: `http:foo` or
 * `http:///x` (which the WHATWG parser would read as hosts) are refused,
 * as is anything but printable ASCII (white space, control characters; an
 * international host name is written in punycode).
 */
export function parseHttpUrl(item: string): URL | undefined {
  if (!/^https?:\/\/[^/\\?#]/i.test(item) || !/^[\x21-\x7e]+$/.test(item)) return undefined;
  if (!URL.canParse(item)) return undefined;
  const url = new URL(item);
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return undefined;
  return url;
}
