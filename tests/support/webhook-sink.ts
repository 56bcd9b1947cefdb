/**
 * The webhook sink for in-process tests: the logic lives once, in the
 * plain-JS fixture that also runs as the compose service `sink`
 * (tests/fixtures/webhook-sink/).
 */
export {
  type SinkRequest,
  startWebhookSink,
  type WebhookSink,
} from '../fixtures/webhook-sink/sink.mjs';
