/** Node's process metrics for both services' /metrics, fit for `promtool check metrics`. */
import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's defaults include three gauges whose names end in `_total`,
 * which `promtool check metrics` rejects; the same figures remain as the
 * per-type `nodejs_active_*` gauges.
 */
const MISNAMED = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED) registry.removeSingleMetric(name);
}
