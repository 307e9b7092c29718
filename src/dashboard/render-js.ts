/**
 * The dashboard script's rendering half, as text (served inside app.js; see app-js.ts for why the script is a string).
 * It must hold no backtick and no dollar-brace: it sits in a String.raw template.
 */
export const renderJs = String.raw`
// Rendering: every value goes in with textContent (SKUs, node ids and order ids come from outside), charts are
// polylines in an SVG drawn here, and a table is rebuilt only when its rows changed.
const $ = (id) => document.getElementById(id);
const dash = '\u2014';
const rendered = new Map();
let lastCluster = null;

function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return dash;
  return Number(v).toFixed(digits === undefined ? 0 : digits);
}

/** An amount in minor units, in its currency's own decimals (JPY has none, USD two). */
function money(minor, currency) {
  try {
    const f = new Intl.NumberFormat('en', { style: 'currency', currency });
    return f.format(minor / Math.pow(10, f.resolvedOptions().maximumFractionDigits));
  } catch (e) {
    return minor + ' ' + currency + ' minor units';
  }
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

/** Rows are arrays of cells: a string/number, or a Node (a button). The row's first value names it (data-key). */
function fillTable(id, rows) {
  const key = JSON.stringify(rows, (k, v) => (v instanceof Node ? v.textContent : v));
  if (rendered.get(id) === key) return;
  rendered.set(id, key);
  const body = $(id).tBodies[0];
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement('tr');
    tr.dataset.key = String(row[0]);
    row.forEach((cell, i) => {
      const td = cell instanceof Node ? el('td') : el('td', cell);
      if (cell instanceof Node) td.append(cell);
      td.dataset.col = String(i);
      tr.append(td);
    });
    body.append(tr);
  }
}

/** The rows, or one row saying there are none. */
function orNone(rows, cols) {
  return rows.length === 0 ? emptyRow(cols, 'none') : rows;
}

function emptyRow(cols, text) {
  const row = [text];
  while (row.length < cols) row.push('');
  return [row];
}

/** A line chart of the values (null is a gap drawn as 0), scaled to its maximum, with that maximum written on it. */
function chart(id, values) {
  const svg = $(id);
  const ns = 'http://www.w3.org/2000/svg';
  const w = 600, h = 120;
  const max = Math.max(0, ...values.map((v) => v || 0));
  const points = values.map((v, i) => {
    const x = values.length <= 1 ? w : (i / (values.length - 1)) * w;
    const y = max === 0 ? h - 1 : h - 1 - ((v || 0) / max) * (h - 12);
    return x.toFixed(1) + ',' + y.toFixed(1);
  });
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', points.join(' '));
  const label = document.createElementNS(ns, 'text');
  label.setAttribute('x', '4');
  label.setAttribute('y', '10');
  label.textContent = 'max ' + fmt(max, 1);
  svg.replaceChildren(line, label);
  svg.dataset.points = String(values.length);
  svg.dataset.max = String(max);
}

function renderRates(rates) {
  const samples = rates.samples;
  const last = samples[samples.length - 1];
  const perS = samples.map((s) => s.checkoutsPerS);
  const p99 = samples.map((s) => s.p99Ms);
  chart('chart-throughput', perS);
  chart('chart-p99', p99);
  $('throughput-now').textContent = last ? fmt(last.checkoutsPerS, 1) : dash;
  $('sales-now').textContent = last ? fmt(last.salesPerS, 1) : dash;
  $('checkouts-window').textContent = fmt(samples.reduce((a, s) => a + s.checkouts, 0));
  $('throughput-max').textContent = fmt(Math.max(0, ...perS), 1);
  $('p99-now').textContent = last ? fmt(last.p99Ms, 1) : dash;
  $('p99-max').textContent = fmt(Math.max(0, ...p99.map((v) => v || 0)), 1);
}

function renderCluster(c) {
  $('cluster-error').textContent = c.error ? 'cluster view unavailable: ' + c.error : '';
  if (c.error) return;
  $('node-id').textContent = c.nodeId;
  $('mode').textContent = c.mode;
  $('coordinator').textContent = c.coordinator === null ? dash : c.coordinator;
  $('unowned').textContent = String(c.unowned);
  fillTable('nodes', c.nodes.map((n) => [
    n.nodeId, n.alive ? n.host + ':' + n.port : dash, n.alive ? 'yes' : 'no', n.draining ? 'yes' : 'no', n.partitions,
    n.isolated.join(' '), n.alive ? drainButton(n) : '',
  ]));
  fillTable('partitions', c.partitions.map((p) => [p.partition, p.nodeId, p.epoch, p.pinned ? 'pinned' : '', p.isolated ? 'isolated' : '']));
  const select = $('move-to');
  const wanted = select.value;
  const alive = c.nodes.filter((n) => n.alive).map((n) => n.nodeId);
  if (JSON.stringify(alive) !== rendered.get('move-to')) {
    rendered.set('move-to', JSON.stringify(alive));
    select.replaceChildren(...alive.map((id) => { const o = el('option', id); o.value = id; return o; }));
    if (alive.includes(wanted)) select.value = wanted;
  }
  lastCluster = c;
}

function drainButton(n) {
  const b = el('button', n.draining ? 'Undrain\u2026' : 'Drain\u2026');
  b.type = 'button';
  b.dataset.node = n.nodeId;
  b.addEventListener('click', () => askDrain(n.nodeId, !n.draining));
  return b;
}

function renderGauges(m, streams) {
  const rows = [
    ['holds active', fmt(m.holds.active)], ['holds pinned', fmt(m.holds.pinned)],
    ['authorizations outstanding', fmt(m.authorizations.outstanding)], ['oldest authorization (s)', fmt(m.authorizations.oldestAgeS, 1)],
    ['orders pending', fmt(m.pendingOrders.count)], ['oldest pending order (s)', fmt(m.pendingOrders.oldestAgeS, 1)],
    ['outbox lag (s)', fmt(m.lag.outboxS, 2)], ['webhook lag (s)', fmt(m.lag.webhookS, 2)],
    ['units oversold now', fmt(m.oversoldUnits)], ['new oversells since start', fmt(m.oversoldNewUnits)], ['partitions served here', fmt(m.partitionsServed)],
    ['dashboard streams open', fmt(streams)],
  ];
  if (m.checkoutsByOutcome) for (const k of Object.keys(m.checkoutsByOutcome).sort()) rows.push(['checkouts ' + k, fmt(m.checkoutsByOutcome[k])]);
  const key = JSON.stringify(rows);
  if (rendered.get('gauges') === key) return;
  rendered.set('gauges', key);
  $('gauges').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', k), el('dd', v)]));
}

function renderPanels(s) {
  const m = s.metrics;
  fillTable('hot-skus', m.hotSkus === null ? emptyRow(3, dash) : m.hotSkus.map((h) => [h.sku, fmt(h.available), fmt(h.checkoutsPerS, 1)]));
  renderGauges(m, s.streams);
  fillTable('expiring-holds', orNone(s.expiringHolds.map((h) => [h.sku, h.holdId, fmt(h.qty), fmt(h.expiresInS, 1)]), 4));
  const pending = s.pendingOrders;
  fillTable('pending', pending.error ? emptyRow(3, 'unavailable: ' + pending.error) : orNone(pending.map((o) => [o.orderId, fmt(o.ageS), money(o.total, o.currency)]), 3));
  fillTable('provider-latency', m.provider.latency === null ? emptyRow(3, dash) : m.provider.latency.map((c) => [c.call, fmt(c.p99Ms, 1), fmt(c.count)]));
  fillTable('provider-errors', m.provider.errors === null ? emptyRow(3, dash) : m.provider.errors.map((e) => [e.call, e.kind, fmt(e.count)]));
  const queues = m.dropQueues || {};
  fillTable('drops', s.drops.error ? emptyRow(6, 'unavailable: ' + s.drops.error) : orNone(s.drops.map((d) => [d.sku, d.state, fmt(queues[d.sku] === undefined ? d.queued : queues[d.sku]), fmt(d.admitted), fmt(d.sold), fmt(d.remaining)]), 6));
}

function render(s) {
  renderRates(s.rates);
  renderCluster(s.cluster);
  renderPanels(s);
  $('status').textContent = (s.stale ? 'stale (a database read is slow) \u00b7 built ' : 'live \u00b7 ') + s.at;
}
`;
