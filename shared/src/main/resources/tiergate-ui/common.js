// Tiergate status page helpers shared by the director and proxy pages. Plain browser JavaScript, no libraries.
// Everything is built with createElement/textContent: names and cache keys come from configs and requests, and
// must never be parsed as markup.
'use strict';

const TG = (() => {
  const TOKEN_KEY = 'tiergate-admin-token';
  const HISTORY = 60; // samples kept per sparkline (one per poll)

  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function setToken(t) {
    try {
      if (t) { sessionStorage.setItem(TOKEN_KEY, t); } else { sessionStorage.removeItem(TOKEN_KEY); }
    } catch (e) { /* storage disabled: the token lives only in the field */ }
  }

  // A value with a colon is "user:password" for basic auth; anything else a bearer token.
  function authHeader() {
    const t = token();
    if (!t) { return {}; }
    if (t.includes(':')) { return { Authorization: 'Basic ' + btoa(t) }; }
    return { Authorization: 'Bearer ' + t };
  }

  async function api(path, options) {
    const opts = Object.assign({ cache: 'no-store' }, options || {});
    opts.headers = Object.assign({}, authHeader(), opts.headers || {});
    const resp = await fetch(path, opts);
    const text = await resp.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = { error: text.trim() }; }
    return { status: resp.status, ok: resp.ok, body: body };
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) { continue; }
      if (k === 'class') { e.className = v; } else if (k.startsWith('on')) { e.addEventListener(k.slice(2), v); } else { e.setAttribute(k, v === true ? '' : v); }
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null) { continue; }
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function badge(text, cls) {
    return el('span', { class: 'badge ' + (cls || text) }, text);
  }

  function num(n, digits) {
    if (n === undefined || n === null || n < 0 || Number.isNaN(n)) { return '–'; }
    if (Math.abs(n) >= 1e9) { return (n / 1e9).toFixed(1) + 'G'; }
    if (Math.abs(n) >= 1e6) { return (n / 1e6).toFixed(1) + 'M'; }
    if (Math.abs(n) >= 1e4) { return (n / 1e3).toFixed(1) + 'k'; }
    return digits === undefined ? String(Math.round(n)) : n.toFixed(digits);
  }

  function bytes(n) {
    if (n === undefined || n === null || n < 0) { return '–'; }
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? Math.round(n) : n.toFixed(1)) + ' ' + units[i];
  }

  // Per-second rates from successive counter samples, and a short history of one of them for a sparkline.
  const samples = new Map();
  function rate(key, counters, now) {
    const prev = samples.get(key);
    const entry = { t: now, c: counters, history: prev ? prev.history : [] };
    const out = {};
    if (prev && now > prev.t) {
      const dt = (now - prev.t) / 1000;
      for (const [k, v] of Object.entries(counters)) {
        const p = prev.c[k];
        out[k] = v >= 0 && p >= 0 && v >= p ? (v - p) / dt : null;
      }
    }
    samples.set(key, entry);
    return { rates: out, history: entry.history };
  }

  function pushHistory(history, v) {
    history.push(v === null || v === undefined ? 0 : v);
    while (history.length > HISTORY) { history.shift(); }
  }

  function spark(history) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 ' + HISTORY + ' 20');
    svg.setAttribute('preserveAspectRatio', 'none');
    const max = Math.max(1, ...history);
    const off = HISTORY - history.length;
    const pts = history.map((v, i) => (off + i) + ',' + (19 - (v / max) * 18).toFixed(1)).join(' ');
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', pts || '0,19');
    svg.append(line);
    return svg;
  }

  function replace(id, ...children) {
    const target = document.getElementById(id);
    if (target) { target.replaceChildren(...children.flat()); }
  }

  // Events: kept client-side, fetched incrementally (?after=last seq).
  let lastSeq = 0;
  const events = [];
  async function refreshEvents() {
    const r = await api('/api/events?after=' + lastSeq);
    if (!r.ok || !Array.isArray(r.body)) { return; }
    for (const e of r.body) { events.unshift(e); lastSeq = Math.max(lastSeq, e.seq); }
    events.splice(100);
    replace('events', events.length === 0 ? [el('li', { class: 'muted' }, 'nothing yet')] : events.map((e) =>
      el('li', { class: e.level, 'data-kind': e.kind },
        el('time', { datetime: e.time }, new Date(e.time).toLocaleTimeString()), el('span', { class: 'text' }, e.message))));
  }

  // The token field and what this browser may do. Actions are shown only when the server says we may act.
  let access = { auth: false, canAct: true };
  async function refreshAccess() {
    const r = await api('/api/access');
    if (r.ok && r.body) { access = r.body; }
    const state = document.getElementById('auth-state');
    if (state) {
      const refused = access.auth && !access.authenticated && token() !== '';
      state.className = 'msg ' + (access.canAct ? 'ok' : refused ? 'error' : '');
      state.textContent = !access.auth ? 'no credentials configured: actions open (admin port on loopback)'
        : access.authenticated ? 'authenticated: actions enabled'
          : refused ? 'these credentials were refused: check the token (or user:password)'
            : 'read-only: enter the admin token (or user:password) to drain, enable or purge';
    }
    document.body.classList.toggle('can-act', !!access.canAct);
    return access;
  }

  function initAuth(onChange) {
    const form = document.getElementById('auth-form');
    const input = document.getElementById('auth-token');
    if (!form || !input) { return; }
    input.value = token();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      setToken(input.value.trim());
      await refreshAccess();
      onChange();
    });
  }

  function canAct() { return !!access.canAct; }

  // An action button: POSTs, reports the answer (401/403 included) in #action-msg, then refreshes.
  function action(label, path, confirmText, after) {
    return el('button', {
      type: 'button',
      class: 'act',
      disabled: !canAct(),
      title: canAct() ? '' : 'needs the admin token',
      onclick: async () => {
        if (confirmText && !window.confirm(confirmText)) { return; }
        const r = await api(path, { method: 'POST' });
        const msg = document.getElementById('action-msg');
        if (msg) {
          msg.className = 'msg ' + (r.ok ? 'ok' : 'error');
          msg.textContent = (r.ok ? label + ' done' : label + ' refused (' + r.status + '): ' + ((r.body && r.body.error) || '')).trim();
        }
        if (after) { after(); }
      },
    }, label);
  }

  // Tables are rebuilt on every poll: hold the rebuild while a button is pressed, or a click whose press and release
  // straddle a rebuild would land on two different buttons and be lost.
  let pressed = false;
  document.addEventListener('pointerdown', () => { pressed = true; }, true);
  document.addEventListener('pointerup', () => { pressed = false; }, true);
  document.addEventListener('pointercancel', () => { pressed = false; }, true);

  // Polls fn every `ms`; marks the header stale when the endpoint stops answering.
  function poll(fn, ms) {
    const live = document.getElementById('live');
    let busy = false;
    async function tick() {
      if (busy || pressed) { return; }
      busy = true;
      try {
        await fn();
        await refreshEvents();
        if (live) { live.className = 'live ok'; live.textContent = 'live · ' + new Date().toLocaleTimeString(); }
      } catch (e) {
        if (live) { live.className = 'live stale'; live.textContent = 'not answering: ' + e.message; }
      } finally {
        busy = false;
      }
    }
    tick();
    return setInterval(tick, ms);
  }

  // The two cards every tier's page ends with (recent events, admin access), appended to <main> here once so the
  // pages don't each carry a copy. This script is loaded at the end of <body>, before the page's own script.
  function commonCards() {
    const main = document.querySelector('main');
    if (!main || document.getElementById('events-card')) return;
    main.append(
      el('section', { class: 'card', id: 'events-card' },
        el('h2', {}, 'Recent events'), el('ol', { class: 'events', id: 'events' })),
      el('section', { class: 'card', id: 'auth-card' },
        el('h2', {}, 'Admin access'),
        el('form', { class: 'auth', id: 'auth-form' },
          el('input', { id: 'auth-token', type: 'password', autocomplete: 'off',
            placeholder: 'admin token or user:password', 'aria-label': 'admin token' }),
          el('button', { type: 'submit', id: 'auth-save' }, 'Use')),
        el('p', { class: 'msg', id: 'auth-state' })));
  }
  commonCards();

  return { api, el, badge, num, bytes, rate, pushHistory, spark, replace, poll, initAuth, refreshAccess, action, canAct };
})();
