// The chosen account's usage triggers, read from and written to the Twilio
// resource (/2010-04-01/Accounts/{sid}/Usage/Triggers) with the session
// cookie. Anyone who may read the account may manage its triggers (the
// API's rule), so the section shows when the list answers and hides on 403.

const $ = (id) => document.getElementById(id);
const FIELDS = ['UsageCategory', 'TriggerBy', 'TriggerValue', 'Recurring', 'CallbackUrl', 'CallbackMethod', 'FriendlyName'];
const PERIOD_NAMES = { daily: 'Daily', monthly: 'Monthly', yearly: 'Yearly', alltime: 'All time' };

let current = '';   // the account shown
let seq = 0;

function path(account, sid) {
  return `/2010-04-01/Accounts/${encodeURIComponent(account)}/Usage/Triggers${sid ? '/' + encodeURIComponent(sid) : ''}.json`;
}

async function request(url, options = {}) {
  const res = await fetch(url, { credentials: 'same-origin', ...options, headers: { Accept: 'application/json', ...(options.headers || {}) } });
  const text = await res.text();
  let body = null;
  if (text) { try { body = JSON.parse(text); } catch { body = null; } }
  if (res.ok) return body;
  const err = new Error((body && body.message) || `The service answered ${res.status}`);
  err.status = res.status;
  throw err;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

// The share of the threshold reached, for the bar's text.
function percent(value, threshold) {
  const v = Number(value), t = Number(threshold);
  if (!(t > 0)) return '';
  return `${Math.min(100, Math.floor((v / t) * 100))}%`;
}

function plain(decimal) { return decimal.includes('.') ? decimal.replace(/0+$/, '').replace(/\.$/, '') : decimal; }

function row(t) {
  const threshold = plain(t.trigger_value);
  const bar = el('progress', { max: t.trigger_value, value: Math.min(Number(t.current_value), Number(t.trigger_value)), 'aria-label': `${t.current_value} of ${threshold}` });
  const del = el('button', { type: 'button', class: 'link-button', 'data-delete': t.sid }, 'Delete');
  return el('tr', { 'data-trigger': t.sid },
    el('td', {}, t.friendly_name || t.usage_category, el('small', { class: 'hint' }, ` ${t.usage_category} · ${t.trigger_by}`)),
    el('td', { class: 'num' }, threshold),
    el('td', { class: 'progress-cell' }, bar, el('span', { class: 'progress-text' }, `${t.current_value} of ${threshold} (${percent(t.current_value, t.trigger_value)})`)),
    el('td', {}, t.recurring ? PERIOD_NAMES[t.recurring] || t.recurring : 'Once'),
    el('td', {}, t.date_fired || 'Never'),
    el('td', {}, del));
}

// fillCategories offers the usage categories (the view's records name them all).
function fillCategories(categories) {
  const select = $('trigger-UsageCategory');
  if (select.options.length === categories.length) return;
  select.replaceChildren(...categories.map((c) => el('option', { value: c }, c)));
}

export async function renderTriggers(account, categories) {
  current = account;
  if (categories) fillCategories(categories);
  const mine = ++seq;
  const section = $('triggers');
  try {
    const page = await request(path(account) + '?PageSize=1000');
    if (mine !== seq) return;
    const body = $('triggers-table').querySelector('tbody');
    body.replaceChildren(...page.usage_triggers.map(row));
    $('triggers-empty').hidden = page.usage_triggers.length > 0;
    section.hidden = false;
  } catch (e) {
    if (mine !== seq) return;
    section.hidden = true; // not this user's to manage, or not served
  }
}

function clearFieldErrors() {
  for (const f of FIELDS) {
    const p = $(`trigger-error-${f}`);
    p.textContent = '';
    p.hidden = true;
    $(`trigger-${f}`).removeAttribute('aria-invalid');
  }
  $('trigger-form-error').hidden = true;
}

// The API names every bad parameter in one message ("; "-separated, each
// part starting with the parameter's name): each part goes to its field.
function showErrors(message) {
  const rest = [];
  for (const part of message.split('; ')) {
    const f = FIELDS.find((name) => part.startsWith(name + ' ') || part === name);
    if (!f) { rest.push(part); continue; }
    const p = $(`trigger-error-${f}`);
    p.textContent = p.textContent ? `${p.textContent}; ${part}` : part;
    p.hidden = false;
    $(`trigger-${f}`).setAttribute('aria-invalid', 'true');
  }
  if (rest.length) {
    $('trigger-form-error').textContent = rest.join('; ');
    $('trigger-form-error').hidden = false;
  }
}

async function create(event) {
  event.preventDefault();
  clearFieldErrors();
  const form = new URLSearchParams();
  for (const f of FIELDS) {
    const v = $(`trigger-${f}`).value.trim();
    if (v !== '') form.set(f, v);
  }
  try {
    await request(path(current), { method: 'POST', body: form });
    $('trigger-form').reset();
    $('triggers-status').textContent = 'Trigger created.';
    await renderTriggers(current);
  } catch (e) {
    showErrors(e.message);
  }
}

async function remove(sid) {
  try {
    await request(path(current, sid), { method: 'DELETE' });
    $('triggers-status').textContent = 'Trigger deleted.';
    await renderTriggers(current);
  } catch (e) {
    $('trigger-form-error').textContent = e.message;
    $('trigger-form-error').hidden = false;
  }
}

export function wireTriggers() {
  $('trigger-form').addEventListener('submit', create);
  $('triggers-table').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-delete]');
    if (b) remove(b.dataset.delete);
  });
}
