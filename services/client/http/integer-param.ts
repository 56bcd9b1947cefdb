/**
 * An integer from a query string or a path: its decimal digits and nothing
 * else. `Number()` (and so `z.coerce.number()`) would also take `1e2`,
 * `0x10`, ` 5`, `5.0` or an empty value (0); each of those is a 400 here,
 * naming the parameter, like a value out of range.
 */
import { z } from 'zod';

const DECIMAL_DIGITS = /^[0-9]+$/;

/** The parameter's schema: digits, read as a number from `min` to `max`. */
export function integerParam({ min, max }: { min: number; max: number }) {
  return z
    .string()
    .regex(DECIMAL_DIGITS, 'expected an integer in decimal digits (0-9)')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}
