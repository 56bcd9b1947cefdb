/**
 * The security headers of every answer, errors included: a strict CSP (the
 * page loads its own script and stylesheet, nothing else), no framing, no
 * referrer, no MIME sniffing. One list, set three ways: on each request's
 * raw response (onRequest), so that the event stream, which bypasses
 * Fastify, keeps them; on the router's refusals, which run no hook; and
 * written by hand in the parser's refusals (errors.ts).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join(';');

/** Helmet's default set, less Strict-Transport-Security and Cross-Origin-Embedder-Policy. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Origin-Agent-Cluster': '?1',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-DNS-Prefetch-Control': 'off',
  'X-Download-Options': 'noopen',
  // The legacy twin of frame-ancestors 'none', for browsers that ignore CSP.
  'X-Frame-Options': 'DENY',
  'X-Permitted-Cross-Domain-Policies': 'none',
  // The old XSS auditor is itself a leak: off.
  'X-XSS-Protection': '0',
};

const SECURITY_HEADER_ENTRIES = Object.entries(SECURITY_HEADERS);

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of SECURITY_HEADER_ENTRIES) res.setHeader(name, value);
}

/** Every route's answer, 404s too, with the headers. */
export function sendSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (_req, reply, done) => {
    setSecurityHeaders(reply.raw);
    done();
  });
}
