/**
 * HTML escaping for every datagram-derived string. Escapes the five
 * significant characters, and U+2028/U+2029 so a string is also safe if it
 * ever lands in a script context.
 */
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '\u2028': '&#x2028;',
  '\u2029': '&#x2029;',
};

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'\u2028\u2029]/g, (c) => ESCAPES[c] as string);
}
