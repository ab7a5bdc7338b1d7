// Formatting for people: money in the product's currency, times in the user's locale and zone,
// countdowns as mm:ss. Formatters are built once per currency (Intl objects are costly to make).

/** @typedef {Pick<Intl.NumberFormat, "format" | "resolvedOptions">} MoneyFormat */

/** @type {Map<string, MoneyFormat>} */
const moneyFormats = new Map();

/**
 * @param {string} currency
 * @returns {MoneyFormat}
 */
function moneyFormat(currency) {
  let format = moneyFormats.get(currency);
  if (!format) {
    try {
      format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    } catch {
      // An unknown code: still show a number and the code rather than nothing.
      format = {
        format: (/** @type {number} */ amount) => `${amount.toFixed(2)} ${currency}`,
        resolvedOptions: () =>
          /** @type {Intl.ResolvedNumberFormatOptions} */ ({ maximumFractionDigits: 2 }),
      };
    }
    moneyFormats.set(currency, format);
  }
  return format;
}

/**
 * The number of minor units of a currency: 2 for USD, 0 for JPY. `price_cents` and
 * `amount_cents` count the smallest unit, as payment gateways do (4999 USD is $49.99, 500 JPY
 * is ¥500).
 * @param {string} currency
 */
export function minorUnits(currency) {
  return moneyFormat(currency).resolvedOptions().maximumFractionDigits ?? 2;
}

/**
 * 4999, "USD" → "$49.99" (in the user's locale).
 * @param {number} cents
 * @param {string} currency
 */
export function money(cents, currency) {
  return moneyFormat(currency).format(cents / 10 ** minorUnits(currency));
}

/**
 * A price typed in the currency's units → its smallest unit: "49.99" USD → 4999.
 * @param {string} value
 * @param {string} currency
 */
export function toMinorUnits(value, currency) {
  return Math.round(Number(value) * 10 ** minorUnits(currency));
}

/**
 * Its smallest unit → the value for a number input: 4999 USD → "49.99".
 * @param {number} cents
 * @param {string} currency
 */
export function fromMinorUnits(cents, currency) {
  const digits = minorUnits(currency);
  return (cents / 10 ** digits).toFixed(digits);
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const integerFormat = new Intl.NumberFormat();

/**
 * A time (ISO, or epoch ms) as the user reads dates: "Dec 1, 2026, 10:00 AM".
 * @param {string | number} iso
 */
export function dateTime(iso) {
  return dateTimeFormat.format(new Date(iso));
}

/**
 * An ISO time of day, to the second: "10:02:31 AM".
 * @param {string | number} iso
 */
export function timeOfDay(iso) {
  return timeFormat.format(new Date(iso));
}

/**
 * 12345 → "12,345" (in the user's locale).
 * @param {number} n
 */
export function count(n) {
  return integerFormat.format(n);
}

/** @param {number} n */
const pad = (n) => String(n).padStart(2, "0");

/**
 * Milliseconds left → "mm:ss", "h:mm:ss" from an hour, "2 d 03:04:05" from a day. Rounded up,
 * so "00:00" is shown only once the time is really over.
 * @param {number} ms
 */
export function countdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3_600);
  const minutes = Math.floor((total % 3_600) / 60);
  const seconds = total % 60;
  if (days > 0) return `${days} d ${pad(hours)}:${pad(minutes)}:${pad(seconds)}`;
  if (hours > 0) return `${hours}:${pad(minutes)}:${pad(seconds)}`;
  return `${pad(minutes)}:${pad(seconds)}`;
}

/**
 * The same span in words, for screen readers and the status line: "1 minute 59 seconds".
 * @param {number} ms
 */
export function spokenDuration(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const parts = [];
  /** @type {[number, string][]} */
  const units = [
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  let left = total;
  for (const [size, name] of units) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n > 0) parts.push(`${n} ${name}${n === 1 ? "" : "s"}`);
  }
  return parts.slice(0, 2).join(" ") || "0 seconds";
}

/**
 * An ISO time → the value of an <input type="datetime-local"> in the user's zone.
 * @param {string | null} iso
 */
export function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The value of an <input type="datetime-local"> (the user's zone) → ISO 8601 UTC, or null.
 * @param {string} value
 */
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
