// The proxy's status page: polls /api/status once a second; request rates and sparklines come from the deltas of
// each server's request counter.
'use strict';

(() => {
  const { el, badge, num, bytes } = TG;

  function ms(v) { return v === undefined || v === null ? '–' : (v < 10 ? v.toFixed(1) : Math.round(v)) + ' ms'; }

  function upstreamTable(u, now) {
    const rows = u.servers.map((s) => {
      const { rates, history } = TG.rate(u.name + '|' + s.server, { req: s.requests, fail: s.failures }, now);
      TG.pushHistory(history, rates.req);
      const path = '/api/upstreams/' + encodeURIComponent(u.name) + '/servers/' + encodeURIComponent(s.server);
      const act = s.drained
        ? TG.action('enable', path + '/enable', null, refresh)
        : TG.action('drain', path + '/drain', 'Drain ' + s.server + ' of upstream ' + u.name + '? No new requests go to it.', refresh);
      const lat = s.latencyMs || {};
      return el('tr', { 'data-server': s.server, 'data-health': s.health, 'data-drained': String(s.drained) },
        el('td', {}, s.server, s.backup ? el('span', { class: 'muted' }, ' backup') : null),
        el('td', { class: 'health' }, badge(s.health, s.health)),
        el('td', { class: 'num' }, String(s.weight)),
        el('td', { class: 'num' }, num(s.inFlight)),
        el('td', { class: 'num' }, num(rates.req, 1)),
        el('td', {}, TG.spark(history)),
        el('td', { class: 'num hide-narrow' }, num(s.requests)),
        el('td', { class: 'num hide-narrow' }, num(s.failures)),
        el('td', { class: 'num' }, num(s.ejections)),
        el('td', { class: 'num' }, ms(lat.p50)),
        el('td', { class: 'num hide-narrow' }, ms(lat.p95)),
        el('td', { class: 'num hide-narrow' }, ms(lat.p99)),
        el('td', { class: 'act' }, act));
    });
    const cols = ['server', 'health', 'weight', 'in flight', 'req/s', 'history', 'requests', 'failures', 'ejections', 'p50', 'p95', 'p99', ''];
    const narrow = new Set([6, 7, 10, 11]);
    const numeric = new Set([2, 3, 4, 6, 7, 8, 9, 10, 11]);
    const head = el('tr', {}, cols.map((h, i) => el('th', { class: (numeric.has(i) ? 'num' : '') + (narrow.has(i) ? ' hide-narrow' : '') }, h)));
    const up = u.servers.filter((s) => s.health === 'up').length;
    return el('div', { class: 'upstream', 'data-upstream': u.name },
      el('h3', {}, u.name + ' ',
        el('span', { class: 'muted' }, u.balance + ' · ' + up + '/' + u.servers.length + ' up · ' + u.activeRequests + ' active · retries '
          + u.retries + ' (refused ' + u.retriesRefused + ')' + (u.activeHealthChecks ? ' · health checks' : ''))),
      el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, head), el('tbody', {}, rows))));
  }

  function kv(pairs) {
    return el('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  }

  function cacheView(c) {
    const ratio = c.hitRatio === null || c.hitRatio === undefined ? '–' : (c.hitRatio * 100).toFixed(1) + ' %';
    const top = c.topKeys.length === 0 ? el('p', { class: 'muted' }, 'no hits yet')
      : el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'top keys'), el('th', { class: 'num' }, 'hits'))),
        el('tbody', {}, c.topKeys.map((k) => el('tr', {}, el('td', {}, k.key), el('td', { class: 'num' }, num(k.hits)))))));
    return [kv([
      ['size', bytes(c.sizeBytes) + ' of ' + bytes(c.maxBytes)], ['keys', num(c.keys)],
      ['hit ratio', ratio + ' (' + num(c.hits) + ' hits, ' + num(c.misses) + ' misses)'],
    ]), top];
  }

  function listenersView(st) {
    const rows = st.listeners.map((l) => el('tr', {},
      el('td', {}, l.name), el('td', {}, (l.host.includes(':') ? '[' + l.host + ']' : l.host) + ':' + l.port),
      el('td', {}, [l.tls ? 'TLS' : 'plain', l.http2 ? 'h2' : null, l.h2c ? 'h2c' : null, l.proxyProtocol ? 'PROXY' : null].filter(Boolean).join(' · '))));
    return el('div', { class: 'scroll' }, el('table', {},
      el('thead', {}, el('tr', {}, el('th', {}, 'listener'), el('th', {}, 'address'), el('th', {}, 'speaks'))), el('tbody', {}, rows)));
  }

  function vhostsView(st) {
    return st.virtualHosts.map((v) => el('div', {},
      el('h3', {}, (v.names.length ? v.names.join(', ') : '(any name)') + (v.default ? ' (default)' : '')),
      el('div', { class: 'scroll' }, el('table', {}, el('tbody', {}, v.locations.map((l) => el('tr', {},
        el('td', {}, l.match + ' ' + l.path),
        el('td', {}, l.upstream ? '→ ' + l.upstream : l.static ? 'static files' : '–'),
        el('td', {}, l.cache ? 'cached' : ''))))))));
  }

  async function refresh() {
    const r = await TG.api('/api/status');
    if (!r.ok) {
      TG.replace('upstreams', el('p', { class: 'msg error' }, 'status: ' + r.status + ' ' + ((r.body && r.body.error) || '')));
      return;
    }
    const st = r.body;
    const now = Date.now();
    TG.replace('node', 'node ' + st.node);
    TG.replace('upstreams', st.upstreams.length === 0 ? [el('p', { class: 'muted' }, 'no upstreams configured')]
      : st.upstreams.map((u) => upstreamTable(u, now)));
    TG.replace('cache', cacheView(st.cache));
    TG.replace('listeners', listenersView(st));
    TG.replace('vhosts', vhostsView(st));
    const purge = document.getElementById('purge-button');
    if (purge) { purge.disabled = !TG.canAct(); }
  }

  const form = document.getElementById('purge-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = document.getElementById('purge-key').value.trim();
    if (!key) { return; }
    const r = await TG.api('/api/cache/purge?key=' + encodeURIComponent(key), { method: 'POST' });
    const msg = document.getElementById('action-msg');
    msg.className = 'msg ' + (r.ok ? 'ok' : 'error');
    msg.textContent = r.ok ? 'purged ' + r.body.purged + ' key(s)' : 'purge refused (' + r.status + '): ' + ((r.body && r.body.error) || '');
    refresh();
  });

  TG.initAuth(refresh);
  TG.refreshAccess().catch(() => null).then(() => TG.poll(refresh, 1000));
})();
