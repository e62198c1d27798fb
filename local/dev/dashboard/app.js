// The local dashboard: polls the dev server's /_dashboard/* endpoints and follows every order over /live.
// No framework and no build step; everything from the server is written with textContent, never as HTML.

const REFRESH_MS = 5_000;
const MAX_FEED_ROWS = 100;
const CURRENCIES = ['EUR', 'USD', 'GBP'];
const COLORS = { EUR: 'var(--eur)', USD: 'var(--usd)', GBP: 'var(--gbp)' };
/** PLACED < VALIDATED < a final status; a final status never changes (shared/client.ts ranks them the same). */
const RANK = { PLACED: 0, VALIDATED: 1, CONFIRMED: 2, CANCELLED: 2, REJECTED: 2 };
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text ?? '';
  if (className) td.className = className;
  return td;
}

function money(cents, currency) {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).format(cents / 100);
}

async function getJson(path, init) {
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error ?? `${path}: HTTP ${response.status}`);
  return body;
}

/** Runs `task` every `ms`, never two at once. */
function every(ms, task) {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await task();
    } finally {
      busy = false;
    }
  };
  void tick();
  setInterval(tick, ms);
}

// --- Charts -----------------------------------------------------------------------------------------------

function svgElement(name, attributes) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, String(v));
  return element;
}

/** Draws `series` (`{color, values}`, one value per minute) as lines, with the max value and the time axis. */
function lineChart(svg, minutes, series, format) {
  const width = svg.clientWidth || 400;
  const height = svg.clientHeight || 160;
  const pad = { left: 44, right: 8, top: 8, bottom: 18 };
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values));
  const x = (i) => pad.left + (i * (width - pad.left - pad.right)) / Math.max(1, minutes.length - 1);
  const y = (v) => height - pad.bottom - (v / max) * (height - pad.top - pad.bottom);
  svg.append(svgElement('line', { x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0), stroke: '#e3e6ec' }));
  const top = svgElement('text', { x: 2, y: pad.top + 8 });
  top.textContent = format(max);
  svg.append(top);
  for (const i of [0, minutes.length - 1]) {
    const label = svgElement('text', { x: x(i), y: height - 4, 'text-anchor': i === 0 ? 'start' : 'end' });
    label.textContent = `${(minutes[i] ?? '').slice(11)} UTC`;
    svg.append(label);
  }
  for (const s of series) {
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    svg.append(svgElement('polyline', { points, fill: 'none', stroke: s.color, 'stroke-width': 2 }));
  }
}

async function refreshMetrics() {
  try {
    const m = await getJson('/_dashboard/metrics');
    $('ops-now').textContent = m.ordersPerSecond.toFixed(1);
    const averages = CURRENCIES.filter((c) => m.averageOrderValueCents[c] !== null).map((c) =>
      money(m.averageOrderValueCents[c], c),
    );
    $('aov').textContent = averages.join(' / ') || '–';
    const minutes = m.minutes.map((b) => b.minute);
    lineChart($('ops-chart'), minutes, [{ color: '#1d2433', values: m.minutes.map((b) => b.ordersPerSecond) }], (v) =>
      v.toFixed(2),
    );
    lineChart(
      $('revenue-chart'),
      minutes,
      CURRENCIES.map((c) => ({ color: COLORS[c], values: m.minutes.map((b) => b.revenueCents[c] / 100) })),
      (v) => v.toFixed(0),
    );
    $('metrics-error').textContent = '';
  } catch (error) {
    $('metrics-error').textContent = `metrics: ${error.message}`;
  }
}

// --- Lag and dead letters ---------------------------------------------------------------------------------

async function refreshLag() {
  try {
    const { partitions } = await getJson('/_dashboard/lag');
    $('lag').replaceChildren(
      ...partitions.map((p) => {
        const tr = document.createElement('tr');
        tr.append(
          cell(p.consumer),
          cell(p.topic),
          cell(String(p.partition)),
          cell(p.committed === null ? '–' : String(p.committed)),
          cell(String(p.high)),
          cell(String(p.lag), p.lag > 0 ? 'lagging' : ''),
        );
        return tr;
      }),
    );
    $('lag-error').textContent = '';
  } catch (error) {
    $('lag-error').textContent = `lag: ${error.message}`;
  }
}

// --- Admission and AWS calls ----------------------------------------------------------------------------------

async function refreshPipeline() {
  try {
    const p = await getJson('/_dashboard/pipeline');
    $('backlog').textContent = `${p.backlog} / ${p.maxBacklog === 0 ? '∞' : p.maxBacklog}`;
    $('backlog').className = p.maxBacklog > 0 && p.backlog >= p.maxBacklog ? 'lagging' : '';
    $('shed').textContent = String(p.shed);
    const rows = Object.entries(p.awsCalls).flatMap(([fn, calls]) =>
      Object.entries(calls).map(([call, count]) => ({ fn, call, count })),
    );
    const total = rows.reduce((n, r) => n + r.count, 0);
    $('calls-per-order').textContent = p.finished > 0 ? (total / p.finished).toFixed(1) : '–';
    $('calls').replaceChildren(
      ...rows.map((r) => {
        const tr = document.createElement('tr');
        tr.append(cell(r.fn), cell(r.call), cell(String(r.count)));
        return tr;
      }),
    );
    $('pipeline-error').textContent = '';
  } catch (error) {
    $('pipeline-error').textContent = `pipeline: ${error.message}`;
  }
}

async function redrive(consumer, button) {
  button.disabled = true;
  $('redrive-result').textContent = `redriving ${consumer}...`;
  try {
    const result = await getJson(`/_dashboard/redrive?consumer=${encodeURIComponent(consumer)}`, {
      method: 'POST',
      headers: { 'x-orderflow-dashboard': '1' },
    });
    $('redrive-result').textContent =
      `redrove ${result.redriven} letter(s) of ${consumer}; scanned ${result.scanned}` +
      (result.duplicates > 0 ? `, ${result.duplicates} duplicate(s) left out` : '');
  } catch (error) {
    $('redrive-result').textContent = `redrive of ${consumer}: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

function renderRedriveButtons(consumers) {
  const box = $('redrive');
  if (box.dataset.consumers === consumers.join(',')) return;
  box.dataset.consumers = consumers.join(',');
  box.replaceChildren(
    ...consumers.map((consumer) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = `redrive ${consumer}`;
      button.addEventListener('click', () => redrive(consumer, button));
      return button;
    }),
  );
}

async function refreshDlq() {
  try {
    const dlq = await getJson('/_dashboard/dlq');
    $('dlq-count').textContent = String(dlq.count);
    renderRedriveButtons(dlq.consumers ?? []);
    $('dlq').replaceChildren(
      ...dlq.latest.map((letter) => {
        const tr = document.createElement('tr');
        tr.append(
          cell(letter.where),
          cell(letter.reason),
          cell(letter.consumer),
          cell(letter.source),
          cell(letter.failedAt),
          cell(letter.detail, 'wrap'),
        );
        return tr;
      }),
    );
    $('dlq-error').textContent = '';
  } catch (error) {
    $('dlq-error').textContent = `dead letters: ${error.message}`;
  }
}

// --- Live feed --------------------------------------------------------------------------------------------

/** Shows a status change: the order's row is updated in place, or added on top; regressions and repeats are dropped. */
function showStatus(message) {
  const feed = $('feed');
  let row = feed.querySelector(`tr[data-order-id="${CSS.escape(message.orderId)}"]`);
  if (row && RANK[message.status] <= RANK[row.dataset.status]) return;
  if (!row) {
    row = document.createElement('tr');
    row.dataset.orderId = message.orderId;
    row.append(cell(message.orderId), cell(''), cell(''), cell(''));
    feed.prepend(row);
    while (feed.rows.length > MAX_FEED_ROWS) feed.lastElementChild.remove();
  }
  row.dataset.status = message.status;
  const [, status, reason, at] = row.cells;
  status.textContent = message.status;
  status.className = `status ${message.status}`;
  reason.textContent = message.reason ?? '';
  at.textContent = message.at;
}

function followLive() {
  let attempt = 0;
  const connect = () => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/live`);
    socket.addEventListener('open', () => {
      $('live-state').textContent = 'live: connected';
      $('live-state').className = 'pill ok';
      socket.send(JSON.stringify({ action: 'subscribe', orderId: '*' }));
    });
    socket.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === 'subscribed') {
        attempt = 0;
        $('feed-error').textContent = '';
      } else if (message.type === 'order.status' && typeof message.orderId === 'string' && message.status in RANK) {
        showStatus(message);
      } else if (message.type === 'error' || message.message) {
        $('feed-error').textContent = `live: ${message.code ?? ''} ${message.message ?? ''}`;
      }
    });
    socket.addEventListener('close', () => {
      // Exponential backoff with full jitter, capped at 30 s.
      const delay = Math.random() * Math.min(30_000, 500 * 2 ** attempt);
      attempt += 1;
      $('live-state').textContent = 'live: reconnecting';
      $('live-state').className = 'pill bad';
      setTimeout(connect, delay);
    });
  };
  connect();
}

every(REFRESH_MS, refreshMetrics);
every(REFRESH_MS, refreshLag);
every(REFRESH_MS, refreshDlq);
every(REFRESH_MS, refreshPipeline);
followLive();
