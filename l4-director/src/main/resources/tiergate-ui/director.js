// The director's status page: polls /api/status once a second; rates and sparklines are computed here from the
// counters' deltas (the director keeps no history).
'use strict';

(() => {
  const { el, badge, num, bytes } = TG;

  function vip(key) {
    if (key.fwmark && key.fwmark > 0) { return 'fwmark ' + key.fwmark; }
    const host = key.vip && key.vip.includes(':') ? '[' + key.vip + ']' : key.vip;
    return String(key.protocol).toLowerCase() + ' ' + host + ':' + key.port;
  }

  function health(rs) {
    const parts = [badge(rs.health, rs.health)];
    if (rs.drained) { parts.push(' ', badge('drained', 'drained')); }
    if (rs.sorry) { parts.push(' ', badge('sorry', 'unknown')); }
    return parts;
  }

  function serviceTable(s, now) {
    const rows = s.realServers.map((rs) => {
      const { rates, history } = TG.rate(s.name + '|' + rs.id, {
        conns: rs.connections, pktsIn: rs.packetsIn, pktsOut: rs.packetsOut, bytesIn: rs.bytesIn, bytesOut: rs.bytesOut,
      }, now);
      TG.pushHistory(history, rates.conns);
      const path = '/api/services/' + encodeURIComponent(s.name) + '/real-servers/' + encodeURIComponent(rs.id);
      const act = rs.sorry ? '' : rs.drained
        ? TG.action('enable', path + '/enable', null, refresh)
        : TG.action('drain', path + '/drain', 'Drain ' + rs.id + ' of ' + s.name + '? No new connections go to it.', refresh);
      const pps = rates.pktsIn === undefined || rates.pktsIn === null ? null : rates.pktsIn + (rates.pktsOut || 0);
      const bps = rates.bytesIn === undefined || rates.bytesIn === null ? null : rates.bytesIn + (rates.bytesOut || 0);
      return el('tr', { 'data-rs': rs.id, 'data-health': rs.health, 'data-drained': String(rs.drained) },
        el('td', {}, rs.id, rs.configured !== rs.id ? el('span', { class: 'muted' }, ' (' + rs.configured + ')') : null),
        el('td', { class: 'health' }, health(rs)),
        el('td', { class: 'num' }, String(rs.effectiveWeight), rs.effectiveWeight !== rs.weight ? el('span', { class: 'muted' }, '/' + rs.weight) : null),
        el('td', { class: 'num' }, num(rs.activeConnections)),
        el('td', { class: 'num hide-narrow' }, num(rs.connections)),
        el('td', { class: 'num' }, num(rates.conns, 1)),
        el('td', {}, TG.spark(history)),
        el('td', { class: 'num hide-narrow' }, num(pps, 0)),
        el('td', { class: 'num hide-narrow' }, bps === null ? '–' : bytes(bps) + '/s'),
        el('td', { class: 'act' }, act));
    });
    const head = el('tr', {}, ['real server', 'health', 'weight', 'active', 'total', 'conn/s', 'history', 'pkt/s', 'bytes/s', '']
      .map((h, i) => el('th', { class: (i >= 2 && i !== 6 && i !== 9 ? 'num' : '') + (i === 4 || i === 7 || i === 8 ? ' hide-narrow' : '') }, h)));
    const state = s.sorryActive ? badge('sorry server active', 'down') : s.quorumMet ? badge('up', 'up') : badge('below quorum', 'down');
    return el('div', { class: 'service', 'data-service': s.name },
      el('h3', {}, s.name + ' ', el('span', { class: 'muted' }, vip(s.key) + ' · ' + s.scheduler + ' · ' + s.method + ' '), state),
      el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, head), el('tbody', {}, rows))));
  }

  function kv(pairs) {
    return el('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  }

  async function refresh() {
    const r = await TG.api('/api/status');
    if (!r.ok) {
      TG.replace('services', el('p', { class: 'msg error' }, 'status: ' + r.status + ' ' + ((r.body && r.body.error) || '')));
      return;
    }
    const st = r.body;
    const now = Date.now();
    TG.replace('dataplane', 'dataplane ' + st.dataplane);
    TG.replace('services', st.services.length === 0 ? [el('p', { class: 'muted' }, 'no services configured')]
      : st.services.map((s) => serviceTable(s, now)));
    TG.replace('engine', kv([
      ['dataplane', st.dataplane], ['why', st.dataplaneReason || '–'], ['engine steps', String(st.steps)],
      ['last error', st.lastError || 'none'],
    ]));
    const ha = st.ha;
    TG.replace('ha', !ha ? [el('p', { class: 'muted' }, 'not configured (no vrrp: section)')] : [kv([
      ['state', badge(ha.state, ha.state)], ['vrid', String(ha.vrid) + ' on ' + ha.interfaceName],
      ['priority', ha.priority + (ha.priority !== ha.configuredPriority ? ' (configured ' + ha.configuredPriority + ')' : '')],
      ['master', ha.master],
      ['peers', ha.peers && ha.peers.length ? ha.peers.join(', ') : 'multicast 224.0.0.18'],
      ['virtual addresses', ha.virtualAddresses && ha.virtualAddresses.length ? ha.virtualAddresses.join(', ') : '–'],
      ['advert interval', ha.advertIntervalMs + ' ms'], ['role changes', String(ha.roleChanges)],
      ['healthy', ha.healthy ? 'yes' : 'no (services cannot serve, dataplane failing or link down)'],
    ])]);
  }

  TG.initAuth(refresh);
  TG.refreshAccess().catch(() => null).then(() => TG.poll(refresh, 1000));
})();
