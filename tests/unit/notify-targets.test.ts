import { describe, expect, it } from 'vitest';
import {
  MAX_TARGETS,
  parseAlertmanagerUrls,
  parseWebhookUrls,
} from '../../services/client/notify/targets.js';

const SLACK = 'https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX';
const MATTERMOST = 'https://chat.example.org:8443/hooks/mmsecret123?channel=ops';

describe('webhook targets', () => {
  it('labels each URL by scheme, host and port only: no path, query or user info', () => {
    const targets = parseWebhookUrls(`${SLACK}, ${MATTERMOST},http://user:pa55word@sink:9000/x`);
    expect(targets?.map((t) => t.label)).toEqual([
      'https://hooks.slack.com',
      'https://chat.example.org:8443',
      'http://sink:9000',
    ]);
    expect(targets?.[0]?.url.href).toBe(SLACK);
    const labels = JSON.stringify(targets?.map((t) => t.label));
    for (const secret of ['SECRET', 'T000', 'mmsecret', 'channel', 'user', 'pa55word', '/x']) {
      expect(labels).not.toContain(secret);
    }
  });

  it('numbers URLs that share a label', () => {
    const targets = parseWebhookUrls(`${SLACK}\n${SLACK.replace('XXXX', 'YYYY')}\nhttps://hooks.slack.com/a`);
    expect(targets?.map((t) => t.label)).toEqual([
      'https://hooks.slack.com',
      'https://hooks.slack.com#2',
      'https://hooks.slack.com#3',
    ]);
  });

  it('refuses a URL listed twice, in the variable, the file or across both', () => {
    expect(parseWebhookUrls(`${SLACK},${SLACK}`)).toBeUndefined();
    expect(parseWebhookUrls('', `${SLACK}\n${SLACK}`)).toBeUndefined();
    expect(parseWebhookUrls(SLACK, SLACK)).toBeUndefined();
    // Written apart, the same URL: the parser's own form is what counts.
    expect(parseWebhookUrls('HTTPS://hooks.slack.com:443/x,https://hooks.slack.com/x')).toBeUndefined();
  });

  it('reads the file form: one per line (a comma is part of its URL), blank lines and # comments skipped', () => {
    const file = `# ops channel\n${SLACK}\n\n   # the sink\r\nhttp://[::1]:9000/hook?tags=prod,udp\r\n`;
    const targets = parseWebhookUrls('', file);
    expect(targets?.map((t) => t.label)).toEqual(['https://hooks.slack.com', 'http://[::1]:9000']);
    expect(targets?.[1]?.url.search).toBe('?tags=prod,udp');
    // The variable first, then the file, labels numbered across both.
    expect(parseWebhookUrls('https://hooks.slack.com/a', file)?.map((t) => t.label)).toEqual([
      'https://hooks.slack.com',
      'https://hooks.slack.com#2',
      'http://[::1]:9000',
    ]);
    expect(parseWebhookUrls('', '')).toEqual([]);
    expect(parseWebhookUrls('', '# nothing yet\n')).toEqual([]);
  });

  it.each([
    'ftp://example.org/hook',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'hooks.slack.com/services/x',
    '//hooks.slack.com/x',
    'http://',
    'http:///path',
    'http:example.org',
    'https://exa mple.org/x',
    'https://example.org/a b',
    `${SLACK} # ops`,
    'https://example.org/x#frag',
    'https://exa\u0000mple.org/',
  ])('refuses %j', (text) => {
    expect(parseWebhookUrls(text)).toBeUndefined();
    expect(parseWebhookUrls(`${SLACK},${text}`)).toBeUndefined();
    expect(parseWebhookUrls('', `${SLACK}\n${text}`)).toBeUndefined();
  });

  it(`refuses more than ${MAX_TARGETS} targets`, () => {
    const many = Array.from({ length: MAX_TARGETS + 1 }, (_, i) => `http://h${i}/`).join(',');
    expect(parseWebhookUrls(many)).toBeUndefined();
  });
});

describe('Alertmanager targets', () => {
  it('takes base URLs, with a path prefix, and labels them the same way', () => {
    const targets = parseAlertmanagerUrls('http://alertmanager:9093, https://am.example/prefix/');
    expect(targets?.map((t) => t.label)).toEqual(['http://alertmanager:9093', 'https://am.example']);
  });

  it('refuses a query or fragment', () => {
    expect(parseAlertmanagerUrls('http://am:9093/?x=1')).toBeUndefined();
    expect(parseAlertmanagerUrls('http://am:9093/#x')).toBeUndefined();
  });
});
