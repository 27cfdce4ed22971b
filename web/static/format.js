// Dates and amounts as the dashboard writes them. Dates are UTC calendar
// days written YYYY-MM-DD, as everywhere in the service; amounts arrive as
// exact decimal text and are grouped without becoming floats.

export function isoDay(d) { return d.toISOString().slice(0, 10); }
export function todayUTC() { return isoDay(new Date()); }
export function utcDay(y, m, d) { return isoDay(new Date(Date.UTC(y, m, d))); }

export function addDays(day, n) {
  const d = new Date(day + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
}

export function validDay(s) {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s + 'T00:00:00Z')) && isoDay(new Date(s + 'T00:00:00Z')) === s;
}

// daysBetween counts the days of an inclusive range.
export function daysBetween(a, b) { return Math.round((Date.parse(b) - Date.parse(a)) / 86400000) + 1; }

const dayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
export function formatDay(day) { return dayFormat.format(new Date(day + 'T00:00:00Z')); }
export function formatRange(start, end) { return start === end ? formatDay(start) : `${formatDay(start)} – ${formatDay(end)}`; }

// groupDigits writes a decimal string with thousands separators without
// turning it into a float first, so nothing is rounded.
export function groupDigits(text) {
  const [whole, frac] = String(text).split('.');
  const neg = whole.startsWith('-');
  const digits = neg ? whole.slice(1) : whole;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (neg ? '-' : '') + grouped + (frac ? '.' + frac : '');
}

export function formatMoney(amount, currency) {
  const code = (currency || '').toUpperCase();
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: code, minimumFractionDigits: 2, maximumFractionDigits: 6 }).format(amount);
  } catch {
    return `${groupDigits(amount)} ${code}`;
  }
}
