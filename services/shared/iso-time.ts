/**
 * `new Date(ms).toISOString()`, the same string, without a Date: the day's
 * part is made once a day and the time of day from two tables. A view of
 * 1,000 senders formats 4,000 times; at 50,000 senders a walk through every
 * page spent a quarter of its time in Date.
 */
const DAY_MS = 86_400_000;
/** The range a Date can hold; beyond it toISOString throws, and so does this. */
const MAX_TIME_MS = 8.64e15;
const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

let cachedDay = Number.NaN;
/** The date and the `T` of cachedDay: `2026-12-03T` (or an extended year's `+275760-09-13T`). */
let cachedPrefix = '';

export function isoTime(ms: number): string {
  // A Date truncates toward zero; out of range (NaN included), toISOString throws its RangeError.
  const t = Math.trunc(ms);
  if (!(Math.abs(t) <= MAX_TIME_MS)) return new Date(ms).toISOString();
  const day = Math.floor(t / DAY_MS);
  if (day !== cachedDay) {
    const start = new Date(day * DAY_MS).toISOString();
    cachedPrefix = start.slice(0, start.indexOf('T') + 1);
    cachedDay = day;
  }
  let rest = t - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${cachedPrefix}${PAD2[hours]}:${PAD2[minutes]}:${PAD2[seconds]}.${PAD3[rest - seconds * 1000]}Z`;
}

/** The `YYYY-MM-DDT` of parsedDayMs (never a prefix of a time before the first is parsed). */
let parsedDayPrefix = '\0';
let parsedDayMs = Number.NaN;
const DIGIT_0 = 0x30;
const FULL_STOP = 0x2e;
const T = 0x54;
const Z = 0x5a;
/**
 * `YYYY-MM-DDTHH:MM:SS.` and 9 digits and `Z`. Past 9 digits of a fraction
 * V8's Date.parse reads it its own way (`.0123456789` is 123 ms, where
 * `.012345678` is 12), so a longer one is left to Date.parse.
 */
const LONGEST_READ_HERE = 30;

/**
 * `Date.parse(s)` of a time the protocol's `sentAt` rule let through (zod's
 * `z.iso.datetime()`: `YYYY-MM-DDTHH:MM:SS`, a fraction of any length, `Z`;
 * a real day of the calendar), the same number, without Date's parser: the
 * day's part is parsed once a day, the time of day from its digits, and a
 * fraction of up to 9 digits, as Date.parse does, cut to milliseconds.
 * Every datagram's `sentAt` is parsed, and Date.parse of a fresh one cost
 * 137-140 ns of a decode of ~1.4 µs, this 26 (docs/PERFORMANCE.md). Only
 * for such a time: a string far from that shape goes to Date.parse, but one
 * of the shape that is not a time (`25:99:99`, `00:00:00.Z`) gets a number,
 * not NaN.
 */
export function isoTimeMs(s: string): number {
  if (s.length < 20 || s.length > LONGEST_READ_HERE) return Date.parse(s);
  const after = s.charCodeAt(19);
  if (s.charCodeAt(s.length - 1) !== Z || s.charCodeAt(10) !== T || (after !== Z && after !== FULL_STOP)) {
    return Date.parse(s);
  }
  if (!s.startsWith(parsedDayPrefix)) {
    parsedDayPrefix = s.slice(0, 11);
    // A date alone is read as UTC (ECMA-262's date-time string format).
    parsedDayMs = Date.parse(s.slice(0, 10));
  }
  const at = (i: number) => s.charCodeAt(i) - DIGIT_0;
  let ms = 0;
  if (after === FULL_STOP) {
    // Up to three digits of the fraction count: .5 is 500 ms, .1239 is 123.
    for (let i = 20, scale = 100; scale >= 1 && i < s.length - 1; i++, scale /= 10) ms += at(i) * scale;
  }
  return (
    parsedDayMs +
    (at(11) * 10 + at(12)) * 3_600_000 +
    (at(14) * 10 + at(15)) * 60_000 +
    (at(17) * 10 + at(18)) * 1000 +
    ms
  );
}
