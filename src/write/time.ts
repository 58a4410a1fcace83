/**
 * Dates and date-times as the writers store them: days and microseconds since 1970-01-01 UTC. From
 * text (validated by the `date` / `date-time` formats), and — for the columnar path — straight from
 * the bytes of the canonical shapes (`2024-03-01`, `2024-03-01T12:34:56.789Z`, `…+01:00`), which
 * need no string at all. Digits below the microsecond are rounded as PostgreSQL rounds them (the
 * nearest double of the fraction, times 10^6, to the nearest integer, ties to even); a leap second
 * (`23:59:60`) is the first instant of the next minute, as PostgreSQL reads it. Which of these texts
 * PostgreSQL refuses (year 0000, offsets beyond ±15:59 …) is validate/targets.ts's to say.
 */
const MS_PER_DAY = 86_400_000;

/** "2024-03-01" → days since the epoch. */
export function dateToDays(value: string): number {
  return Math.floor(Date.parse(value.slice(0, 10) + 'T00:00:00Z') / MS_PER_DAY);
}

/**
 * Milliseconds since the epoch of a date-time without its fraction. A leap second (`…:60`, which
 * the date-time format accepts) is parsed as :59 plus one second; Date.parse alone says NaN.
 */
export function epochMillis(value: string): number {
  // Always the ISO shape Date.parse reads as ISO: "T", upper case, the offset as ±hh:mm. (Given other
  // shapes — a space, "+0100" — Date.parse falls back to a legacy parser that reads year 0002 as 2002.)
  const text = `${value.slice(0, 10)}T${value.slice(11).toUpperCase()}`.replace(/([+-])(\d\d):?(\d\d)?$/, (_, sign, h, m) => `${sign}${h}:${m ?? '00'}`);
  const ms = Date.parse(text);
  if (ms === ms) return ms;
  if (text.charCodeAt(17) === 54 && text.charCodeAt(18) === 48) {
    const rolled = Date.parse(`${text.slice(0, 17)}59${text.slice(19)}`);
    if (rolled === rolled) return rolled + 1000;
  }
  throw new RangeError(`not a date-time loadbay can convert: ${JSON.stringify(value.slice(0, 40))}`);
}

/**
 * The fraction's digits as microseconds (0–1,000,000), as PostgreSQL's ParseFractionalSecond makes
 * them: `rint(strtod(".digits") * 1e6)`. Up to six digits that is the digits themselves.
 */
export function fractionMicros(digits: string): number {
  if (digits.length <= 6) {
    let micros = 0;
    for (let i = 0; i < 6; i++) micros = micros * 10 + (i < digits.length ? digits.charCodeAt(i) - 48 : 0);
    return micros;
  }
  return roundHalfEven(Number(`0.${digits}`) * 1e6);
}

/** C's rint() in the default rounding mode: to the nearest integer, ties to even. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest < 0.5) return floor;
  if (rest > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** A validated RFC 3339 date-time → microseconds since the epoch (a BigInt beyond ±2^53). */
export function timestampMicros(value: string): number | bigint {
  // The format fixes `YYYY-MM-DD?hh:mm:ss`: a fraction starts at index 19.
  let fraction = '';
  let whole = value;
  if (value.charCodeAt(19) === 46) {
    let j = 20;
    while (j < value.length && value.charCodeAt(j) >= 48 && value.charCodeAt(j) <= 57) j++;
    fraction = value.slice(20, j);
    whole = value.slice(0, 19) + value.slice(j);
  }
  const ms = epochMillis(whole);
  const micros = ms * 1000 + fractionMicros(fraction);
  return Number.isSafeInteger(micros) ? micros : BigInt(ms) * 1000n + BigInt(fractionMicros(fraction));
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digitsAt(b: Uint8Array, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const c = b[i]! - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** Days of a canonical `YYYY-MM-DD` that exists at `at`; NaN when not that shape or no such day. */
export function canonicalDays(b: Uint8Array, at: number): number {
  if (b[at + 4] !== 45 || b[at + 7] !== 45) return NaN;
  const year = digitsAt(b, at, 4);
  const month = digitsAt(b, at + 5, 2);
  const day = digitsAt(b, at + 8, 2);
  // Year 0000 is no year to PostgreSQL: not canonical (validate/targets.ts refuses it).
  if (year < 1 || month < 1 || month > 12 || day < 1) return NaN;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS[month]!)) return NaN;
  return daysFromCivil(year, month, day);
}

const scratch = new Uint8Array(40);

/** `canonicalMicros` / `canonicalDays` of a string: its characters as bytes when all are ASCII. */
function asciiBytes(text: string): number {
  const n = text.length;
  if (n > scratch.length) return -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return -1;
    scratch[i] = c;
  }
  return n;
}

/** Microseconds of a canonical date-time string, NaN for any other (see canonicalMicros). */
export function canonicalMicrosOf(text: string): number {
  const n = asciiBytes(text);
  return n < 0 ? NaN : canonicalMicros(scratch, 0, n);
}

/** Days of a canonical `YYYY-MM-DD` string that exists, NaN for any other. */
export function canonicalDaysOf(text: string): number {
  return text.length === 10 && asciiBytes(text) === 10 ? canonicalDays(scratch, 0) : NaN;
}

/**
 * Microseconds of a canonical date-time in `b[s … e)`: `YYYY-MM-DD[Tt ]hh:mm:ss[.fraction](Z|z|±hh:mm)`
 * with every field in range — a subset of what ajv-formats accepts (tests/unit/values.test.ts) and
 * PostgreSQL reads, so the `date-time` format (validate/formats.ts) takes it as its fast path. NaN for
 * anything else — leap seconds, year 0000, offsets beyond ±15:59, more than six fraction digits,
 * dates far enough from 1970 that microseconds are not exact doubles: those take the text path.
 */
export function canonicalMicros(b: Uint8Array, s: number, e: number): number {
  const length = e - s;
  if (length < 20) return NaN;
  const days = canonicalDays(b, s);
  if (days !== days) return NaN;
  const t = b[s + 10];
  if (t !== 84 && t !== 116 && t !== 32) return NaN;
  if (b[s + 13] !== 58 || b[s + 16] !== 58) return NaN;
  const hour = digitsAt(b, s + 11, 2);
  const minute = digitsAt(b, s + 14, 2);
  const second = digitsAt(b, s + 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return NaN;
  let i = s + 19;
  let micros = 0;
  if (b[i] === 46) {
    i++;
    const from = i;
    while (i < e && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === from) return NaN;
    if (i - from > 6) return NaN; // rounding below the microsecond: the text path
    for (let k = from; k < from + 6; k++) micros = micros * 10 + (k < i ? b[k]! - 48 : 0);
  }
  let offset = 0;
  const zone = b[i];
  if (zone === 90 || zone === 122) {
    if (i + 1 !== e) return NaN;
  } else if ((zone === 43 || zone === 45) && i + 6 === e && b[i + 3] === 58) {
    const zh = digitsAt(b, i + 1, 2);
    const zm = digitsAt(b, i + 4, 2);
    // Offsets beyond PostgreSQL's ±15:59 are not canonical (validate/targets.ts refuses them).
    if (zh < 0 || zh > 15 || zm < 0 || zm > 59) return NaN;
    offset = (zh * 60 + zm) * 60 * (zone === 45 ? -1 : 1);
  } else return NaN;
  const seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  if (seconds > 9e9 || seconds < -9e9) return NaN;
  return seconds * 1_000_000 + micros;
}
