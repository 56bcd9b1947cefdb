/**
 * Alerts to Alertmanager: one POST of the whole batch to its API v2
 * (`<base>/api/v2/alerts`), with the same outcome and the same rules as a
 * webhook delivery (webhook.ts). Alertmanager answers 200 with no body, or
 * 400 for an alert it refuses (not retryable).
 */
import { type DeliveryOutcome, type PostOptions, postJson } from './webhook.js';

/** `<base>/api/v2/alerts`, keeping a path prefix of the base (a proxy, or --web.route-prefix). */
export function alertsUrl(baseUrl: URL): URL {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  url.search = '';
  url.hash = '';
  return url;
}

export function postAlerts(baseUrl: URL, alerts: object[], opts: PostOptions): Promise<DeliveryOutcome> {
  return postJson(alertsUrl(baseUrl), alerts, {}, opts);
}
