// The usage chart: one category of one account over the view's range, drawn
// here as SVG bars (no library), from the bucketed Usage Records API: by day
// for ranges up to DAILY_LIMIT_DAYS, by month beyond. Every bar is also a row
// of a table, so every figure is there for screen readers and keyboards.

import { daysBetween, formatDay, formatRange, groupDigits, formatMoney } from './format.js';

// Ranges up to about three months are charted by day, longer ones by month.
export const DAILY_LIMIT_DAYS = 92;
const PAGE_SIZE = 1000; // Twilio's largest page: a daily chart is one request
const MAX_PAGES = 200; // a guard against a next_page_uri that never ends
const API_PREFIX = '/2010-04-01/';
// An XML namespace name: an identifier, never fetched.
const SVG_NS = 'http://www.w3.org/2000/svg';

export function granularity(start, end) {
  return daysBetween(start, end) <= DAILY_LIMIT_DAYS ? 'Daily' : 'Monthly';
}

// seriesURL asks the Usage Records API for one category of the account alone
// (IncludeSubaccounts=false: the table above the chart shows the account alone).
export function seriesURL({ account, start, end, category }, pageSize = PAGE_SIZE) {
  const q = new URLSearchParams({ Category: category, StartDate: start, EndDate: end, IncludeSubaccounts: 'false', PageSize: String(pageSize) });
  return `${API_PREFIX}Accounts/${encodeURIComponent(account)}/Usage/Records/${granularity(start, end)}.json?${q}`;
}

// loadSeries reads every page of the answer, following next_page_uri, with
// get(url) answering a page's JSON. It gives the view's points in date order.
export async function loadSeries(view, get, pageSize = PAGE_SIZE) {
  let url = seriesURL(view, pageSize);
  const points = [];
  let about = null;
  for (let pages = 0; url; pages++) {
    if (pages === MAX_PAGES) throw new Error('The usage answer has too many pages to chart.');
    const page = await get(url);
    for (const r of page.usage_records || []) {
      if (r.category !== view.category) continue;
      about = about || r;
      points.push({ start: r.start_date, end: r.end_date, count: r.count, usage: r.usage, price: r.price });
    }
    url = samePlace(page.next_page_uri);
  }
  return {
    ...view,
    by: granularity(view.start, view.end) === 'Daily' ? 'day' : 'month',
    points,
    description: about ? about.description : view.category,
    countUnit: about ? about.count_unit : '',
    usageUnit: about ? about.usage_unit : '',
    priceUnit: about ? about.price_unit : '',
  };
}

// samePlace checks that a next page is on this service's API before asking it.
function samePlace(uri) {
  if (!uri) return '';
  const u = new URL(uri, location.origin);
  if (u.origin !== location.origin || !u.pathname.startsWith(API_PREFIX)) throw new Error('The usage answer links to a page elsewhere.');
  return u.pathname + u.search;
}

// measureOf says what the bars show: the price for totalprice, else the usage.
function measureOf(series) {
  if (series.category === 'totalprice') {
    const compact = compactFormat({ style: 'currency', currency: (series.priceUnit || 'usd').toUpperCase() });
    return { name: 'Price', unit: '', value: (p) => p.price, text: (v) => formatMoney(v, series.priceUnit), tick: compact };
  }
  const compact = compactFormat({});
  return { name: 'Usage', unit: series.usageUnit, value: (p) => p.usage, text: (v) => `${groupDigits(v)} ${series.usageUnit}`, tick: compact };
}

function compactFormat(options) {
  let f;
  try {
    f = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 2, ...options });
  } catch {
    f = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 2 });
  }
  return (v) => f.format(v);
}

// niceTicks spans [lo, hi] with about four steps of 1, 2, 2.5 or 5 × 10^n.
export function niceTicks(lo, hi) {
  if (!(hi > lo)) return [lo, lo + 1];
  const raw = (hi - lo) / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * pow).find((s) => s >= raw);
  const ticks = [];
  for (let v = Math.floor(lo / step) * step; ; v += step) {
    ticks.push(Number(v.toPrecision(12)));
    if (v >= hi - step * 1e-9) break;
  }
  return ticks;
}

const dayLabel = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
const monthLabel = new Intl.DateTimeFormat(undefined, { month: 'short', year: '2-digit', timeZone: 'UTC' });

// periodText names a bar's period exactly: a day, or a month's days (the
// first and last months of a range may be partial).
function periodText(series, p) {
  return series.by === 'day' ? formatDay(p.start) : formatRange(p.start, p.end);
}

// drawChart makes the chart of a series at a width in pixels: the SVG (an
// image with a title and a description) and the table of its figures.
export function drawChart(series, width) {
  const m = measureOf(series);
  const points = series.points;
  const values = points.map((p) => Number(m.value(p)));
  width = Math.max(260, Math.round(width));
  const height = width < 520 ? 200 : 260;
  const ticks = niceTicks(Math.min(0, ...values), Math.max(0, ...values));
  const lo = ticks[0];
  const hi = ticks[ticks.length - 1];
  const tickText = ticks.map(m.tick);
  const top = m.unit ? 24 : 12; // room for the unit above the axis
  const bottom = 26;
  const right = 8;
  const left = 10 + 7.5 * Math.max(...tickText.map((t) => t.length));
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const y = (v) => top + plotH - ((v - lo) / (hi - lo)) * plotH;

  const titleId = 'chart-svg-title';
  const descId = 'chart-svg-desc';
  const svg = svgEl('svg', {
    class: 'chart-svg', role: 'img', width, height, viewBox: `0 0 ${width} ${height}`,
    'aria-labelledby': titleId, 'aria-describedby': descId,
  });
  svg.dataset.by = series.by;
  svg.append(
    svgEl('title', { id: titleId }, `${series.description}, by ${series.by}, ${formatRange(series.start, series.end)}`),
    svgEl('desc', { id: descId }, describe(series, m, values)),
  );

  const grid = svgEl('g', { class: 'grid', 'aria-hidden': 'true' });
  if (m.unit) grid.append(svgEl('text', { x: 0, y: 10, class: 'unit' }, m.unit));
  ticks.forEach((t, i) => {
    grid.append(
      svgEl('line', { x1: left, x2: width - right, y1: y(t), y2: y(t), class: t === 0 ? 'zero' : '' }),
      svgEl('text', { x: left - 6, y: y(t), dy: '0.32em', 'text-anchor': 'end' }, tickText[i]),
    );
  });

  const band = plotW / Math.max(points.length, 1);
  const barW = band >= 4 ? band * 0.78 : Math.max(band - 0.5, 0.5);
  const bars = svgEl('g', { class: 'bars' });
  const labels = svgEl('g', { class: 'x-axis', 'aria-hidden': 'true' });
  const every = Math.max(1, Math.ceil(points.length / Math.max(1, Math.floor(plotW / 58))));
  points.forEach((p, i) => {
    const v = values[i];
    const x = left + i * band + (band - barW) / 2;
    const y0 = y(0);
    const y1 = y(v);
    const bar = svgEl('rect', { class: v < 0 ? 'bar negative' : 'bar', x, y: Math.min(y0, y1), width: barW, height: Math.abs(y1 - y0) },
      svgEl('title', {}, `${periodText(series, p)}: ${barText(series, m, p)}`));
    bar.dataset.start = p.start;
    bar.dataset.end = p.end;
    bar.dataset.value = String(m.value(p));
    bars.append(bar);
    if (i % every === 0) {
      const label = (series.by === 'day' ? dayLabel : monthLabel).format(new Date(p.start + 'T00:00:00Z'));
      labels.append(svgEl('text', { x: left + (i + 0.5) * band, y: height - 8, 'text-anchor': 'middle' }, label));
    }
  });
  svg.append(grid, bars, labels);
  return [svg, figuresTable(series, m)];
}

// barText is everything a bar stands for: usage, count and price.
function barText(series, m, p) {
  if (series.category === 'totalprice') return m.text(p.price);
  return [m.text(p.usage), `${groupDigits(p.count ?? 0)} ${series.countUnit}`, formatMoney(p.price, series.priceUnit)].join(' · ');
}

// describe says in words what the chart shows.
function describe(series, m, values) {
  const n = values.length;
  const unit = `${n} ${series.by}${n === 1 ? '' : 's'}`;
  if (n === 0 || values.every((v) => v === 0)) return `${unit}, no ${m.name.toLowerCase()} in this period.`;
  let hi = 0;
  let lo = 0;
  values.forEach((v, i) => {
    if (v > values[hi]) hi = i;
    if (v < values[lo]) lo = i;
  });
  const at = (i) => `${m.text(m.value(series.points[i]))} ${series.by === 'day' ? 'on' : 'in'} ${periodText(series, series.points[i])}`;
  return `${unit}. Highest: ${at(hi)}. Lowest: ${at(lo)}. The table under the chart lists every ${series.by}.`;
}

// figuresTable lists the chart's figures, one row per bar.
function figuresTable(series, m) {
  const total = series.category === 'totalprice';
  const period = series.by === 'day' ? 'Day' : 'Month';
  const head = total ? [period, 'Price'] : [period, 'Count', 'Usage', 'Price'];
  const rows = series.points.map((p) => {
    const cells = total
      ? [cell(formatMoney(p.price, series.priceUnit), p.price, 'price')]
      : [cell(`${groupDigits(p.count ?? 0)} ${series.countUnit}`, p.count, 'count'), cell(m.text(p.usage), p.usage, 'usage'), cell(formatMoney(p.price, series.priceUnit), p.price, 'price')];
    const row = htmlEl('tr', {}, htmlEl('th', { scope: 'row' }, periodText(series, p)), ...cells);
    row.dataset.start = p.start;
    row.dataset.end = p.end;
    return row;
  });
  const table = htmlEl('table', { class: 'chart-table' },
    htmlEl('caption', { class: 'visually-hidden' }, `${series.description} by ${series.by}, ${formatRange(series.start, series.end)}`),
    htmlEl('thead', {}, htmlEl('tr', {}, ...head.map((h, i) => htmlEl('th', { scope: 'col', class: i ? 'num' : '' }, h)))),
    htmlEl('tbody', {}, ...rows));
  return htmlEl('details', { class: 'chart-data' },
    htmlEl('summary', {}, `The figures by ${series.by}`),
    htmlEl('div', { class: 'table-wrap' }, table));
}

function cell(text, value, field) {
  const td = htmlEl('td', { class: 'num' }, text);
  td.dataset.field = field;
  td.dataset.value = value === undefined || value === null ? '' : String(value);
  return td;
}

function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== '') node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

function htmlEl(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== '') node.setAttribute(k, v);
  node.append(...children);
  return node;
}

// drawTrend draws a small line chart of monthly points ({label, value,
// text}: value a number for the drawing, text the exact figure, both null
// for no data) with its text alternative: an image titled by label that
// lists every month's figure. One circle per point.
export function drawTrend(points, label) {
  const width = 120, height = 32, pad = 3;
  const values = points.map((p) => p.value ?? 0);
  const lo = Math.min(0, ...values), hi = Math.max(0, ...values);
  const span = hi - lo || 1;
  const x = (i) => pad + (points.length > 1 ? (i * (width - 2 * pad)) / (points.length - 1) : (width - 2 * pad) / 2);
  const y = (v) => height - pad - ((v - lo) * (height - 2 * pad)) / span;
  const text = `${label}: ` + points.map((p) => `${p.label} ${p.text === null ? 'no data' : p.text}`).join(', ');
  const svg = svgEl('svg', { class: 'trend', role: 'img', width, height, viewBox: `0 0 ${width} ${height}`, 'aria-label': text },
    svgEl('title', {}, text),
    svgEl('line', { class: 'baseline', x1: pad, x2: width - pad, y1: y(0), y2: y(0) }),
    svgEl('polyline', { class: 'line', points: values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ') }));
  points.forEach((p, i) => {
    const dot = svgEl('circle', { class: p.value === null ? 'point missing' : 'point', cx: x(i).toFixed(1), cy: y(values[i]).toFixed(1), r: i === points.length - 1 ? 2.5 : 1.5 });
    dot.dataset.month = p.label;
    svg.append(dot);
  });
  return svg;
}
