// The billing dashboard: a plain ES module, no framework, no other origin.
// Everything a view shows is in its URL (account, period, category, the
// hide-zero toggle), so a view can be bookmarked and shared. The session is
// the HttpOnly ss-tok cookie that sign-in sets; this script never sees it.

import { todayUTC, utcDay, addDays, validDay, formatRange, groupDigits, formatMoney } from './format.js';
import { loadSeries, drawChart, granularity, drawTrend } from './chart.js';
import { renderTriggers, wireTriggers } from './triggers.js';

const $ = (id) => document.getElementById(id);

const PERIODS = ['today', 'yesterday', 'this-month', 'last-month', 'last-30-days', 'this-year', 'custom'];
const DEFAULT_PERIOD = 'this-month';
const DEFAULT_CATEGORY = 'totalprice';
// The downloads of a view: /billing/usage in each format.
const DOWNLOADS = ['csv', 'json', 'xml', 'jsv'];
// The accounts overview (ListAccountUsage): its orders, as the API names
// them, and a page of its table.
const ORDERS = ['-price', 'price', '-usage', '-count', 'name', '-change'];
const DEFAULT_ORDER = '-price';
const OVERVIEW_PER_PAGE = 25;
const TREND_MONTHS = 12;

const app = {
  user: null,             // the signed-in user (GET /auth), or null
  accounts: new Map(),    // SID -> account, as ListAccounts described it
  topAccount: '',         // the account a view without one opens
  multi: false,           // the user reads more than one account: the overview is the first screen
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
    filter: q.get('q') || '',
    order: q.get('order') || DEFAULT_ORDER,
    page: Math.max(0, Math.floor(Number(q.get('page')) || 0)),
  };
  if (!ORDERS.includes(s.order)) s.order = DEFAULT_ORDER;
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
  if (s.filter) q.set('q', s.filter);
  if (s.order && s.order !== DEFAULT_ORDER) q.set('order', s.order);
  if (s.page) q.set('page', String(s.page));
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
  app.multi = false;
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
    app.multi = res.totalCount > 1;
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
  $('overview').hidden = true;
  $('overview-back').hidden = !app.multi;
  $('overview-link').href = stateURL({ ...s, account: '', page: 0 });
  if (!s.account && app.multi) return renderOverview(s, seq);
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
    await Promise.all([renderChart(records, s, start, end), renderSubaccounts(s, start, end, seq)]);
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

// ---------- the accounts overview ----------

// overviewQuery is the ListAccountUsage request of a view: the overview's
// page, or (with parent) the parent's sub-accounts.
function overviewQuery(s, start, end, parent) {
  const q = new URLSearchParams({ StartDate: start, EndDate: end, Category: s.category, OrderBy: s.order });
  if (parent) {
    q.set('ParentId', parent);
    q.set('CountPerPage', '1000');
  } else {
    if (s.filter) q.set('NameFilter', s.filter);
    q.set('Page', String(s.page));
    q.set('CountPerPage', String(OVERVIEW_PER_PAGE));
  }
  return q;
}

async function renderOverview(s, seq) {
  const [start, end] = periodRange(s);
  syncControls(s);
  hideError();
  $('view').hidden = true;
  $('breadcrumbs').hidden = true;
  $('overview-back').hidden = true;
  $('overview').hidden = false;
  $('view-title').textContent = 'Accounts';
  $('view-period').textContent = formatRange(start, end);
  document.title = `Accounts · ${formatRange(start, end)} · Billing`;
  const select = $('overview-category');
  if (![...select.options].some((o) => o.value === s.category)) select.add(new Option(s.category, s.category));
  select.value = s.category;
  if ($('overview-search') !== document.activeElement) $('overview-search').value = s.filter;
  const q = overviewQuery(s, start, end, '');
  try {
    setBusy(true, 'Loading the accounts…');
    const res = await call('/billing/usage/accounts?' + q);
    if (seq !== app.seq) return;
    const pages = Math.max(1, Math.ceil(res.totalCount / OVERVIEW_PER_PAGE));
    $('overview-what').textContent = `${res.totalCount} account${res.totalCount === 1 ? '' : 's'}, ${formatRange(res.startDate, res.endDate)}, compared with ${formatRange(res.previousStartDate, res.previousEndDate)}.`;
    $('overview-page').textContent = `Page ${s.page + 1} of ${pages}`;
    $('overview-prev').disabled = s.page === 0;
    $('overview-next').disabled = s.page + 1 >= pages;
    for (const f of DOWNLOADS) {
      const link = $(`ov-dl-${f}`);
      link.href = `/billing/usage/accounts.${f}?${q}`;
      link.download = `accounts-${start}-${end}.${f}`;
    }
    renderAccountsTable($('overview-table'), res, s);
    setBusy(false, `Showing ${res.totalCount} accounts, ${formatRange(start, end)}.`);
    await renderTrends($('overview-table'), res.items, s, end, seq);
  } catch (e) {
    if (e instanceof SessionEnded || seq !== app.seq) return;
    setBusy(false, '');
    showError(e.message);
  }
}

// renderSubaccounts lists an account's children the way the overview does;
// the section stays hidden for an account without any.
async function renderSubaccounts(s, start, end, seq) {
  const section = $('subaccounts');
  let res;
  try {
    res = await call('/billing/usage/accounts?' + overviewQuery(s, start, end, s.account));
  } catch (e) {
    if (e instanceof SessionEnded) throw e;
    section.hidden = true; // the account's own view stays usable
    return;
  }
  if (seq !== app.seq) return;
  section.hidden = res.totalCount === 0;
  if (section.hidden) return;
  $('subaccounts-what').textContent = `${res.totalCount} sub-account${res.totalCount === 1 ? '' : 's'}, each alone, compared with ${formatRange(res.previousStartDate, res.previousEndDate)}.`;
  renderAccountsTable($('sub-table'), res, s);
  await renderTrends($('sub-table'), res.items, s, end, seq);
}

// The columns of an accounts table; sortable ones name their orders (the
// first is the one a click picks, the second the one a second click picks).
const ACCOUNT_COLUMNS = [
  { field: 'name', label: 'Account', orders: ['name'] },
  { field: 'trend', label: 'Trend, 12 months' },
  { field: 'count', label: 'Count', orders: ['-count'], num: true },
  { field: 'usage', label: 'Usage', orders: ['-usage'], num: true },
  { field: 'price', label: 'Price', orders: ['-price', 'price'], num: true },
  { field: 'change', label: 'Change', orders: ['-change'], num: true },
];

// columnsFor leaves out count and usage for totalprice, whose usage is its price.
function columnsFor(category) {
  return ACCOUNT_COLUMNS.filter((c) => category !== 'totalprice' || (c.field !== 'count' && c.field !== 'usage'));
}

function renderAccountsTable(table, res, s) {
  const columns = columnsFor(s.category);
  const head = columns.map((c) => {
    const th = el('th', { scope: 'col', class: c.num ? 'num' : '' });
    th.dataset.field = c.field;
    if (!c.orders) {
      th.append(c.label);
      return th;
    }
    const active = c.orders.includes(s.order);
    th.setAttribute('aria-sort', active ? (s.order.startsWith('-') ? 'descending' : 'ascending') : 'none');
    const next = active && c.orders.length > 1 ? c.orders[(c.orders.indexOf(s.order) + 1) % c.orders.length] : c.orders[0];
    const button = el('button', { type: 'button', class: 'sort' }, c.label, el('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (s.order.startsWith('-') ? ' ↓' : ' ↑') : ''));
    button.dataset.order = next;
    th.append(button);
    return th;
  });
  table.tHead.replaceChildren(el('tr', {}, ...head));
  table.tBodies[0].replaceChildren(...res.items.map((it) => accountRow(it, s)));
  if (res.items.length === 0) {
    table.tBodies[0].replaceChildren(el('tr', {}, el('td', { colspan: String(columns.length), class: 'empty' }, 'No account matches.')));
  }
  table.tFoot.replaceChildren(...res.totals.map((t) => {
    const row = el('tr', {}, el('th', { scope: 'row' }, `Total, ${t.currency.toUpperCase()}`), el('td', {}),
      ...figureCells(t, s.category));
    row.dataset.currency = t.currency;
    return row;
  }));
}

function accountRow(it, s) {
  const link = el('a', { href: stateURL({ ...s, account: it.accountId, page: 0 }) }, it.name);
  link.dataset.account = it.accountId;
  const trend = el('td', { class: 'trend-cell' }, el('span', { class: 'hint' }, '…'));
  trend.dataset.field = 'trend';
  const row = el('tr', {}, el('th', { scope: 'row' }, link, el('code', {}, it.accountId)), trend, ...figureCells(it, s.category));
  row.dataset.account = it.accountId;
  return row;
}

// figureCells are a row's count, usage, price and change; a change is marked
// up or down in words as well as by an arrow and a colour.
function figureCells(it, category) {
  const count = it.count === undefined ? '–' : groupDigits(it.count);
  const usage = groupDigits(it.usage);
  let change = [el('span', { class: 'hint' }, 'no previous usage')];
  let direction = 'none';
  if (it.change !== null && it.change !== undefined) {
    const n = Number(it.change);
    direction = n > 0 ? 'up' : n < 0 ? 'down' : 'flat';
    const arrow = { up: '▲', down: '▼', flat: '=' }[direction];
    const words = { up: 'up', down: 'down', flat: 'unchanged' }[direction];
    change = [el('span', { 'aria-hidden': 'true' }, arrow + ' '), el('span', { class: 'visually-hidden' }, words + ' '), `${String(it.change).replace('-', '')} %`];
  }
  const changeCell = valueCell(change, it.change === null || it.change === undefined ? '' : String(it.change), 'change');
  changeCell.classList.add(`change-${direction}`);
  const price = valueCell([formatMoney(it.price, it.currency)], String(it.price), 'price');
  if (category === 'totalprice') return [price, changeCell];
  return [valueCell([count], it.count === undefined ? '' : String(it.count), 'count'), valueCell([usage], it.usage, 'usage'), price, changeCell];
}

const monthName = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' });

// renderTrends draws each listed account's last 12 months: one
// ListAccountUsage request a month, narrowed to the table's accounts with
// SpecificIds, so a page costs 12 requests whatever its length.
async function renderTrends(table, items, s, end, seq) {
  if (items.length === 0) return;
  const ids = items.map((it) => it.accountId).join(',');
  const y = Number(end.slice(0, 4)), m = Number(end.slice(5, 7)) - 1;
  const months = [];
  for (let i = TREND_MONTHS - 1; i >= 0; i--) {
    const first = utcDay(y, m - i, 1);
    const last = utcDay(y, m - i + 1, 0);
    months.push({ first, last: last < end ? last : end, label: monthName.format(new Date(first + 'T00:00:00Z')) });
  }
  const answers = await Promise.all(months.map((mo) => call('/billing/usage/accounts?' + new URLSearchParams({
    StartDate: mo.first, EndDate: mo.last, Category: s.category, SpecificIds: ids, CountPerPage: '1000',
  }))));
  if (seq !== app.seq) return;
  for (const it of items) {
    const cell = table.querySelector(`tr[data-account="${it.accountId}"] td[data-field="trend"]`);
    if (!cell) continue;
    const points = months.map((mo, i) => {
      const row = answers[i].items.find((x) => x.accountId === it.accountId);
      if (!row) return { label: mo.label, value: null, text: null };
      const text = s.category === 'totalprice' ? formatMoney(row.price, row.currency) : groupDigits(row.usage);
      return { label: mo.label, value: Number(row.usage), text };
    });
    cell.replaceChildren(drawTrend(points, `${it.name}, ${s.category}, by month`));
  }
}

// ---------- small helpers ----------

// focusLost tells whether the focused element went with a redrawn table
// (the focus is back on the page itself), so that restoring it steals
// nothing the user has focused since.
function focusLost() {
  return !document.activeElement || document.activeElement === document.body;
}

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
    // The table is drawn anew: keep the keyboard on the chosen row, unless
    // it moved on while the rest of the view (chart, trends) loaded.
    change({ category }).then(() => {
      if (readState().category !== category || !focusLost()) return; // a later choice, or the user moved on
      const again = $('usage-table').querySelector(`button.category[data-category="${category}"]`);
      if (again) again.focus();
    });
  });
  for (const id of ['overview-table', 'sub-table']) {
    $(id).addEventListener('click', (e) => {
      const sort = e.target.closest('button.sort');
      if (sort) {
        const order = sort.dataset.order;
        change({ order, page: 0 }).then(() => {
          if (readState().order !== order || !focusLost()) return;
          const again = $(id).querySelector(`th button.sort`);
          const th = [...$(id).querySelectorAll('th[aria-sort]')].find((h) => h.getAttribute('aria-sort') !== 'none');
          ((th && th.querySelector('button')) || again)?.focus();
        });
        return;
      }
      const row = e.target.closest('tr[data-account]');
      if (!row || e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      change({ account: row.dataset.account, page: 0 }).then(() => $('view-title').focus());
    });
  }
  $('overview-category').addEventListener('change', (e) => change({ category: e.target.value, page: 0 }));
  $('overview-search').addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => change({ filter: e.target.value.trim(), page: 0 }), 250);
  });
  $('overview-prev').addEventListener('click', () => change({ page: Math.max(0, readState().page - 1) }));
  $('overview-next').addEventListener('click', () => change({ page: readState().page + 1 }));
  $('overview-link').addEventListener('click', (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    change({ account: '', page: 0 }).then(() => $('view-title').focus());
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
