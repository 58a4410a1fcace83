// The console's small toolkit: elements, JSON calls, formats, the token for actions. Every value
// that comes from a file (names, headers, values, reasons) goes into the page as a text node or
// an attribute value, never as markup.

/** An element with attributes and children; null and undefined children are left out, false is text. */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'value') node.value = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...nodes(children));
  return node;
}

/** Children as nodes: arrays flattened, null and undefined left out, anything else as text. */
export function nodes(...children) {
  return children.flat(Infinity).filter((c) => c !== null && c !== undefined).map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
}

/** Replaces the target's content (arrays flattened, nulls left out). */
export function fill(target, ...children) {
  target.replaceChildren(...nodes(children));
}

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { Accept: 'application/json', ...(options.headers || {}) } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new HttpError(response.status, body.error || `HTTP ${response.status}`);
  return body;
}

/** An action (a POST with the bearer token): the token is asked for once per browser tab. */
export async function act(path, body) {
  let token = sessionStorage.getItem('loadbay-token');
  if (!token) token = window.prompt('Token (http.token) for actions:');
  if (!token) throw new HttpError(0, 'no token given');
  try {
    const result = await api(path, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    sessionStorage.setItem('loadbay-token', token);
    return result;
  } catch (error) {
    if (error.status === 401 || error.status === 403 || error.status === 429) sessionStorage.removeItem('loadbay-token');
    throw error;
  }
}

export function when(iso) {
  if (!iso) return '—';
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.max(0, seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return iso.slice(0, 16).replace('T', ' ');
}

export function bytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${Math.round(n * 10) / 10} ${units[i]}`;
}

const numberFormat = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });
export function num(n) {
  return n === null || n === undefined ? '—' : numberFormat.format(n);
}

/** 1234 → 1.2k, 2500000 → 2.5M: axis labels. */
export function compact(n) {
  const a = Math.abs(n);
  if (a >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(n / 1e3).toFixed(0)}k`;
  if (a >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return numberFormat.format(n);
}

export function percent(share) {
  if (share === 0) return '0 %';
  if (share < 0.001) return '< 0.1 %';
  return `${+(share * 100).toFixed(1)} %`;
}

/** A table cell's content: NULL as ∅, booleans and zeros as themselves. */
export function cell(value) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, '∅');
  return String(value);
}

export function table(headers, rows, attrs = {}) {
  return h('table', attrs, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows));
}

export function card(label, value, id) {
  return h('div', { class: 'card', 'data-card': id }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label));
}

export function datasetLink(name) {
  return name ? h('a', { href: `/datasets/${encodeURIComponent(name)}` }, name) : h('span', { class: 'muted' }, '(no dataset)');
}
