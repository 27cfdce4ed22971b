// The billing dashboard: a plain ES module, no framework, no other origin.
// Everything a view shows is in its URL (account, period, category, the
// hide-zero toggle), so a view can be bookmarked and shared. The session is
// the HttpOnly ss-tok cookie that sign-in sets; this script never sees it.

import { todayUTC, utcDay, addDays, validDay, formatRange, groupDigits, formatMoney } from './format.js';
import { loadSeries, drawChart, granularity } from './chart.js';
import { renderTriggers, wireTriggers } from './triggers.js';

const $ = (id) => document.getElementById(id);

const PERIODS = ['today', 'yesterday', 'this-month', 'last-month', 'last-30-days', 'this-year', 'custom'];
const DEFAULT_PERIOD = 'this-month';
const DEFAULT_CATEGORY = 'totalprice';
// The downloads of a view: /billing/usage in each format.
const DOWNLOADS = ['csv', 'json', 'xml', 'jsv'];

const app = {
  user: null,             // the signed-in user (GET /auth), or null
  accounts: new Map(),    // SID -> account, as ListAccounts described it
  topAccount: '',         // the account a view without one opens
  view: null,             // {key, records} of the last usage answer
  seq: 0,                 // the latest render; older answers are dropped
  chart: null,            // {key, series} of the last chart drawn
  chartSeq: 0,            // the latest chart; older answers are dropped
};

// SessionEnded is thrown after a 401 has sent the user back to sign-in.
class SessionEnded extends Error {}

// ---------- periods ----------

// periodRange turns a preset into inclusive [start, end] days.
function periodRange(s) {
  const t = todayUTC();
  const y = Number(t.slice(0, 4));
  const m = Number(t.slice(5, 7)) - 1;
  switch (s.period) {
    case 'today': return [t, t];
    case 'yesterday': return [addDays(t, -1), addDays(t, -1)];
    case 'last-month': return [utcDay(y, m - 1, 1), utcDay(y, m, 0)];
    case 'last-30-days': return [addDays(t, -29), t];
    case 'this-year': return [utcDay(y, 0, 1), t];
    case 'custom': return [s.start, s.end];
    default: return [utcDay(y, m, 1), t];
  }
}

// ---------- numbers: amounts arrive as exact decimal text ----------

function isZero(r) {
  return (r.count ?? 0) === 0 && Number(r.usage) === 0 && Number(r.price) === 0;
}

// The catalog's names encode its hierarchy: calls-inbound-local is a child
// of calls-inbound, a child of calls.
function categoryDepth(name) { return name.split('-').length - 1; }

// ---------- the URL is the state ----------

function readState() {
  const q = new URLSearchParams(location.search);
  const s = {
    account: q.get('account') || '',
    period: q.get('period') || DEFAULT_PERIOD,
    start: q.get('start') || '',
    end: q.get('end') || '',
    category: q.get('category') || DEFAULT_CATEGORY,
    hideZero: q.get('hideZero') === '1',
  };
  if (!PERIODS.includes(s.period)) s.period = DEFAULT_PERIOD;
  if (s.period === 'custom' && !(validDay(s.start) && validDay(s.end) && s.start <= s.end)) s.period = DEFAULT_PERIOD;
  if (s.period !== 'custom') s.start = s.end = '';
  return s;
}

function stateURL(s) {
  const q = new URLSearchParams();
  if (s.account) q.set('account', s.account);
  q.set('period', s.period);
  if (s.period === 'custom') { q.set('start', s.start); q.set('end', s.end); }
  if (s.category && s.category !== DEFAULT_CATEGORY) q.set('category', s.category);
  if (s.hideZero) q.set('hideZero', '1');
  return '?' + q.toString();
}

function go(s, { replace = false } = {}) {
  const url = stateURL(s);
  if (url !== location.search) history[replace ? 'replaceState' : 'pushState'](null, '', url);
  return render();
}

function change(patch) { return go({ ...readState(), ...patch }); }

// ---------- talking to the API ----------

async function api(path, options = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...options, headers: { Accept: 'application/json', ...(options.headers || {}) } });
  const text = await res.text();
  let body = null;
  if (text) { try { body = JSON.parse(text); } catch { body = null; } }
  if (res.ok) return body;
  // ServiceStack's {responseStatus:{errorCode,message}}, or the Usage
  // Records API's {code,message} (Twilio's shape).
  const status = (body && body.responseStatus) || {};
  const err = new Error(status.message || (body && body.message) || `The service answered ${res.status} ${res.statusText}`);
  err.status = res.status;
  err.code = status.errorCode || (body && body.code);
  throw err;
}

function hasExpired(e) { return /expired/i.test(e.message); }

// call is api() for a signed-in user: a 401 means the session is over.
async function call(path) {
  try {
    return await api(path);
  } catch (e) {
    if (e.status === 401 && app.user) {
      showSignIn(hasExpired(e) ? 'Your session has expired. Please sign in again.' : 'Your session has ended. Please sign in again.');
      throw new SessionEnded();
    }
    throw e;
  }
}

// ---------- sign-in ----------

function showSignIn(message) {
  app.user = null;
  app.view = null;
  app.chart = null;
  app.accounts.clear();
  app.topAccount = '';
  app.seq++;
  app.chartSeq++;
  setStatus('');
  $('dashboard').hidden = true;
  $('who').hidden = true;
  $('signin').hidden = false;
  const note = $('signin-message');
  note.textContent = message || '';
  note.hidden = !message;
  $('signin-error').hidden = true;
  $('password').value = '';
  document.title = 'Sign in · Billing';
  ($('username').value ? $('password') : $('username')).focus();
}

async function signIn(event) {
  event.preventDefault();
  const button = $('signin-button');
  const error = $('signin-error');
  error.hidden = true;
  button.disabled = true;
  setStatus('Signing in…', true);
  try {
    await api('/auth/credentials', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ userName: $('username').value, password: $('password').value }),
    });
    $('password').value = '';
    await start();
  } catch (e) {
    setStatus('');
    error.textContent = e.status === 401 ? 'Wrong user name or password.' : e.message;
    error.hidden = false;
    $('password').select();
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  try { await api('/auth/logout', { method: 'POST' }); } catch { /* the cookie is cleared or already gone */ }
  showSignIn('You have signed out.');
}

// start opens the dashboard for the user the cookie names, or the sign-in form.
async function start() {
  try {
    app.user = await api('/auth');
  } catch (e) {
    if (e.status === 401) {
      showSignIn(hasExpired(e) ? 'Your session has expired. Please sign in again.' : '');
      return;
    }
    showSignIn(`The service cannot be reached: ${e.message}`);
    return;
  }
  $('signin').hidden = true;
  $('signin-message').hidden = true;
  $('who-name').textContent = `Signed in as ${app.user.displayName || app.user.userName}`;
  $('who').hidden = false;
  $('dashboard').hidden = false;
  if (!app.user.roles.some((r) => r === 'SystemAdministrator' || r === 'Manager')) {
    showError('This user has no role that may read usage (SystemAdministrator or Manager).');
    $('view').hidden = true;
    return;
  }
  try {
    await loadAccountOptions('');
  } catch (e) {
    if (e instanceof SessionEnded) return;
    showError(e.message);
  }
  await render();
  $('view-title').focus();
}

// ---------- accounts ----------

function remember(items) {
  for (const a of items) app.accounts.set(a.id, a);
}

// knowAccounts makes sure the named accounts (and so their names) are known.
async function knowAccounts(ids) {
  const missing = [...new Set(ids)].filter((id) => !app.accounts.has(id));
  if (missing.length === 0) return;
  const q = new URLSearchParams({ SpecificIds: missing.join(','), All: 'true' });
  remember((await call('/accounts?' + q)).items);
}

function accountLabel(a) {
  const path = a.ancestorIds.map((id) => (app.accounts.get(id) || { name: id }).name);
  return [...path, a.name].join(' › ');
}

async function loadAccountOptions(filter) {
  const q = new URLSearchParams({ CountPerPage: '50' });
  if (filter) q.set('NameFilter', filter);
  const res = await call('/accounts?' + q);
  remember(res.items);
  await knowAccounts(res.items.flatMap((a) => a.ancestorIds));
  if (!filter && !app.topAccount && res.items.length > 0) {
    app.topAccount = (res.items.find((a) => a.ancestorIds.length === 0) || res.items[0]).id;
  }
  fillAccountSelect(res.items, res.totalCount);
}

function fillAccountSelect(items, total) {
  const select = $('account');
  const current = readState().account || app.topAccount;
  select.replaceChildren();
  const listed = items.slice();
  if (current && !listed.some((a) => a.id === current) && app.accounts.has(current)) listed.unshift(app.accounts.get(current));
  for (const a of listed) {
    const o = new Option(accountLabel(a), a.id);
    o.selected = a.id === current;
    select.add(o);
  }
  if (listed.length === 0) {
    const o = new Option('No account matches', '');
    o.disabled = true;
    select.add(o);
  }
  $('account-count').textContent = total > items.length ? `Showing ${items.length} of ${total}; type to narrow the list.` : `${total} account${total === 1 ? '' : 's'}`;
}

async function renderBreadcrumbs(sid) {
  const ol = $('breadcrumbs').querySelector('ol');
  await knowAccounts([sid]);
  const a = app.accounts.get(sid);
  if (!a) {
    ol.replaceChildren();
    $('breadcrumbs').hidden = true;
    return null;
  }
  // A top account needs no path: the title names it.
  $('breadcrumbs').hidden = a.ancestorIds.length === 0;
  await knowAccounts(a.ancestorIds);
  const items = a.ancestorIds.map((id) => {
    const link = el('a', { href: stateURL({ ...readState(), account: id }) }, (app.accounts.get(id) || { name: id }).name);
    link.dataset.account = id;
    return el('li', {}, link);
  });
  items.push(el('li', {}, el('span', { 'aria-current': 'page' }, a.name)));
  ol.replaceChildren(...items);
  return a;
}

// ---------- the view ----------

async function render() {
  if (!app.user) return;
  const seq = ++app.seq;
  const s = readState();
  if (!s.account) {
    if (!app.topAccount) {
      showError('No account is visible to you.');
      $('view').hidden = true;
      return;
    }
    s.account = app.topAccount;
    history.replaceState(null, '', stateURL(s));
  }
  syncControls(s);
  const [start, end] = periodRange(s);
  const key = `${s.account}/${start}/${end}`;
  hideError();
  $('view').hidden = false;
  $('view-period').textContent = formatRange(start, end);
  try {
    if (!app.view || app.view.key !== key) {
      setBusy(true, 'Loading usage…');
      const q = new URLSearchParams({ AccountId: s.account, StartDate: start, EndDate: end });
      const [records, account] = await Promise.all([call('/billing/usage?' + q), renderBreadcrumbs(s.account)]);
      if (seq !== app.seq) return;
      app.view = { key, records, account };
    }
    const { records, account } = app.view;
    for (const link of $('breadcrumbs').querySelectorAll('a[data-account]')) link.href = stateURL({ ...s, account: link.dataset.account });
    const name = account ? account.name : s.account;
    $('view-title').textContent = name;
    document.title = `${name} · ${formatRange(start, end)} · Billing`;
    renderSummary(records);
    renderTable(records, s);
    renderDownloads(s, start, end, name);
    renderTriggers(s.account, records.map((r) => r.category));
    setBusy(false, `Showing ${name}, ${formatRange(start, end)}.`);
    await renderChart(records, s, start, end);
  } catch (e) {
    if (e instanceof SessionEnded || seq !== app.seq) return;
    app.view = null;
    app.chartSeq++;
    setBusy(false, '');
    $('view').hidden = true;
    $('view-title').textContent = s.account;
    showError(e.message);
  }
}

function syncControls(s) {
  $('period').value = s.period;
  const custom = s.period === 'custom';
  $('custom-range').hidden = !custom;
  if (custom) {
    $('start').value = s.start;
    $('end').value = s.end;
  }
  $('hide-zero').checked = s.hideZero;
  const select = $('account');
  if ([...select.options].some((o) => o.value === s.account)) select.value = s.account;
}

function byCategory(records) {
  return Object.fromEntries(records.map((r) => [r.category, r]));
}

function renderSummary(records) {
  const by = byCategory(records);
  const total = by.totalprice;
  $('sum-price').textContent = total ? formatMoney(total.price, total.priceUnit) : '–';
  $('sum-price').dataset.value = total ? String(total.price) : '';
  $('sum-minutes').textContent = by.calls ? groupDigits(by.calls.usage) : '–';
  $('sum-minutes').dataset.value = by.calls ? by.calls.usage : '';
  $('sum-messages').textContent = by.sms ? groupDigits(by.sms.usage) : '–';
  $('sum-messages').dataset.value = by.sms ? by.sms.usage : '';
}

function renderTable(records, s) {
  const table = $('usage-table');
  table.classList.toggle('hide-zero', s.hideZero);
  const body = [];
  const foot = [];
  for (const r of records) {
    const row = categoryRow(r, s.category === r.category);
    (r.category === 'totalprice' ? foot : body).push(row);
  }
  table.tBodies[0].replaceChildren(...body);
  table.tFoot.replaceChildren(...foot);
}

function categoryRow(r, selected) {
  const button = el('button', { type: 'button', class: 'category', 'aria-pressed': String(selected) },
    el('span', { class: 'description' }, r.description),
    el('code', {}, r.category));
  button.dataset.category = r.category;
  const count = r.count === undefined ? [] : [groupDigits(r.count), ' ', el('span', { class: 'unit' }, r.countUnit)];
  const usage = r.category === 'totalprice' ? [] : [groupDigits(r.usage), ' ', el('span', { class: 'unit' }, r.usageUnit)];
  const row = el('tr', { class: `depth-${categoryDepth(r.category)}` },
    el('th', { scope: 'row' }, button),
    valueCell(count, r.count === undefined ? '' : String(r.count), 'count'),
    valueCell(usage, r.usage, 'usage'),
    valueCell([formatMoney(r.price, r.priceUnit)], String(r.price), 'price'));
  row.dataset.category = r.category;
  row.classList.toggle('zero', isZero(r));
  row.classList.toggle('selected', selected);
  return row;
}

function valueCell(content, value, field) {
  const td = el('td', { class: 'num' }, ...content);
  td.dataset.field = field;
  td.dataset.value = value;
  return td;
}

// renderChart shows the chosen category's figures over the range and its
// chart, by day or by month, from the Usage Records API. It has its own
// loading and error states: the table stays usable while it loads.
async function renderChart(records, s, start, end) {
  const by = byCategory(records);
  const r = by[s.category] || by[DEFAULT_CATEGORY];
  if (!r) return;
  const per = granularity(start, end) === 'Daily' ? 'day' : 'month';
  $('chart-title').textContent = `${r.description}, by ${per}`;
  const parts = [];
  if (r.count !== undefined) parts.push(`${groupDigits(r.count)} ${r.countUnit}`);
  if (r.category !== 'totalprice') parts.push(`${groupDigits(r.usage)} ${r.usageUnit}`);
  parts.push(formatMoney(r.price, r.priceUnit));
  const figures = $('chart-figures');
  figures.replaceChildren(el('code', {}, r.category), ` ${parts.join(' · ')} in ${formatRange(start, end)}`);
  figures.dataset.category = r.category;

  const view = { account: s.account, start, end, category: r.category };
  const key = [view.account, start, end, view.category].join('/');
  const area = $('chart-area');
  const seq = ++app.chartSeq;
  if (!app.chart || app.chart.key !== key) {
    area.dataset.state = 'loading';
    area.setAttribute('aria-busy', 'true');
    area.replaceChildren(el('p', { class: 'loading' }, 'Loading the chart…'));
    try {
      const series = await loadSeries(view, call);
      if (seq !== app.chartSeq) return;
      app.chart = { key, series };
    } catch (e) {
      if (e instanceof SessionEnded || seq !== app.chartSeq) return;
      app.chart = null;
      area.dataset.state = 'error';
      area.setAttribute('aria-busy', 'false');
      area.replaceChildren(el('p', { class: 'error', role: 'alert' }, `The chart cannot be drawn: ${e.message}`));
      return;
    }
  }
  try {
    drawCurrentChart();
  } catch (e) {
    area.dataset.state = 'error';
    area.replaceChildren(el('p', { class: 'error', role: 'alert' }, `The chart cannot be drawn: ${e.message}`));
  }
}

// drawCurrentChart draws the loaded chart to the width of its box.
function drawCurrentChart() {
  const area = $('chart-area');
  if (!app.chart) return;
  const open = area.querySelector('details[open]') !== null;
  area.replaceChildren(...drawChart(app.chart.series, area.clientWidth));
  if (open) area.querySelector('details').open = true;
  area.dataset.state = 'ready';
  area.dataset.key = app.chart.key;
  area.dataset.width = String(area.clientWidth);
  area.setAttribute('aria-busy', 'false');
}

// renderDownloads links the view's records (every category of the table) in
// each format. The links are same-origin, so the download attribute names the
// file, and the session cookie goes with them.
function renderDownloads(s, start, end, name) {
  const q = new URLSearchParams({ AccountId: s.account, StartDate: start, EndDate: end });
  for (const f of DOWNLOADS) {
    const link = $(`dl-${f}`);
    link.href = `/billing/usage.${f}?${q}`;
    link.download = `usage-${s.account}-${start}-${end}.${f}`;
  }
  $('downloads-what').textContent = `Every category of ${name}, ${formatRange(start, end)}: the table above, as the API serves it.`;
}

// ---------- small helpers ----------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function setStatus(text, busy = false) {
  $('status').textContent = text;
  $('status').classList.toggle('busy', busy && text !== '');
}

function setBusy(busy, text) {
  $('dashboard').setAttribute('aria-busy', String(busy));
  setStatus(text, busy);
}

function showError(message) {
  const e = $('error');
  e.textContent = message;
  e.hidden = false;
}

function hideError() { $('error').hidden = true; }

let searchTimer = 0;

function wire() {
  wireTriggers();
  $('signin-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', signOut);
  $('account').addEventListener('change', (e) => { if (e.target.value) change({ account: e.target.value }); });
  $('account-search').addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      loadAccountOptions(e.target.value.trim()).catch((err) => { if (!(err instanceof SessionEnded)) showError(err.message); });
    }, 250);
  });
  $('period').addEventListener('change', (e) => {
    const period = e.target.value;
    if (period === 'custom') {
      const [start, end] = periodRange(readState());
      $('start').value = start;
      $('end').value = end;
      $('custom-range').hidden = false;
      $('start').focus();
      return;
    }
    $('custom-range').hidden = true;
    change({ period });
  });
  $('custom-range').addEventListener('submit', (e) => {
    e.preventDefault();
    const start = $('start').value;
    const end = $('end').value;
    if (!validDay(start) || !validDay(end) || start > end) {
      showError('Choose a start day on or before the end day.');
      return;
    }
    change({ period: 'custom', start, end });
  });
  $('hide-zero').addEventListener('change', (e) => {
    const s = { ...readState(), hideZero: e.target.checked };
    history.replaceState(null, '', stateURL(s));
    $('usage-table').classList.toggle('hide-zero', s.hideZero);
  });
  $('usage-table').addEventListener('click', (e) => {
    const button = e.target.closest('button.category');
    if (!button) return;
    const category = button.dataset.category;
    // The table is drawn anew: keep the keyboard on the chosen row.
    change({ category }).then(() => {
      const again = $('usage-table').querySelector(`button.category[data-category="${category}"]`);
      if (again) again.focus();
    });
  });
  $('breadcrumbs').addEventListener('click', (e) => {
    const link = e.target.closest('a[data-account]');
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    change({ account: link.dataset.account });
  });
  window.addEventListener('popstate', () => render());
  // The chart is drawn to its box's width: draw it again when that changes.
  let resizeFrame = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(resizeFrame);
    resizeFrame = requestAnimationFrame(() => {
      const area = $('chart-area');
      if (area.dataset.state === 'ready' && area.dataset.width !== String(area.clientWidth)) drawCurrentChart();
    });
  }).observe($('chart-area'));
}

wire();
start();
