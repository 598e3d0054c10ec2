/**
 * The status page: plain HTML, and a small script that reads /api/status every second and fills
 * the tables and the ops/s chart (inline SVG). No build step, no library.
 */
export function statusPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>actorfs status</title>
<style>
${STYLE}
</style>
</head>
<body>
${BODY}
<script>
${HELPERS}
${RENDER}
${POLL}
</script>
</body>
</html>
`;
}

const STYLE = `  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
  h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
  table { border-collapse: collapse; background: #fff; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
  th { background: #f0f0f0; } .num { text-align: right; font-variant-numeric: tabular-nums; }
  .up { color: #1a7f37; font-weight: 600; } .down { color: #cf222e; font-weight: 600; } .muted { color: #777; }
  .grid { display: flex; flex-wrap: wrap; gap: 2em; } .kv td:first-child { color: #555; }
  #chart { background: #fff; border: 1px solid #ddd; }`;

/** The tables the script fills: the lock-service cell, GFS, the ops/s chart and the nodes. */
const BODY = `<h1>actorfs</h1>
<div class="muted" id="summary">loading…</div>
<div class="grid">
  <section>
    <h2>Lock-service cell <span id="cell-name"></span></h2>
    <table class="kv"><tbody>
      <tr><td>master</td><td id="cell-master">?</td></tr>
      <tr><td>sessions (live in the cell)</td><td id="sessions" class="num">?</td></tr>
    </tbody></table>
    <h2>Replicas</h2>
    <table id="replicas"><thead><tr><th>node</th><th>state</th><th>Paxos role</th><th>leader lease</th><th>commit index</th><th>applied</th></tr></thead><tbody></tbody></table>
    <h2>Sessions of CLI clients</h2>
    <table id="clients"><thead><tr><th>client</th><th>session</th><th>state</th></tr></thead><tbody></tbody></table>
    <h2>Locks held (in the cell's database)</h2>
    <table id="locks"><thead><tr><th>lock</th><th>client</th><th>mode</th><th>generation</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>GFS</h2>
    <table class="kv"><tbody>
      <tr><td>master</td><td id="gfs-master">?</td></tr>
      <tr><td>lock generation</td><td id="gfs-generation" class="num">?</td></tr>
      <tr><td>files</td><td id="files" class="num">?</td></tr>
      <tr><td>chunks</td><td id="chunks" class="num">?</td></tr>
      <tr><td>bytes stored (all replicas)</td><td id="bytes" class="num">?</td></tr>
      <tr><td>under-replicated chunks</td><td id="under-replicated" class="num">?</td></tr>
      <tr><td>clones in flight</td><td id="clones">?</td></tr>
    </tbody></table>
    <h2>Master replicas</h2>
    <table id="gfs-replicas"><thead><tr><th>node</th><th>state</th><th>role</th><th>log position</th><th>lag (records)</th><th>lag (ms)</th><th>in sync</th></tr></thead><tbody></tbody></table>
    <h2>Chunkservers</h2>
    <table id="chunkservers"><thead><tr><th>name</th><th>rack</th><th>state</th><th>disk use</th><th>chunks</th></tr></thead><tbody></tbody></table>
  </section>
</div>
<h2>Operations per second (last <span id="chart-span">5</span> minutes)</h2>
<svg id="chart" width="720" height="160" viewBox="0 0 720 160" role="img" aria-label="operations per second"></svg>
<h2>Nodes</h2>
<table id="nodes"><thead><tr><th>node</th><th>role</th><th>state</th><th>actors</th><th>messages in</th><th>messages out</th><th>mailbox depth</th><th>dead letters</th><th>synced commits</th></tr></thead><tbody></tbody></table>`;

/** The script's helpers: element lookup, escaping, number and byte formats, table rows, and the chart. */
const HELPERS = `const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const state = (up) => up ? '<span class="up">up</span>' : '<span class="down">down</span>';
const num = (n) => n === null || n === undefined ? '?' : Number(n).toLocaleString('en');
const bytes = (n) => n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KiB' : n < 1073741824 ? (n / 1048576).toFixed(1) + ' MiB' : (n / 1073741824).toFixed(2) + ' GiB';
function rows(id, items, row) { $(id).querySelector('tbody').innerHTML = items.map(row).join('') || '<tr><td colspan="9" class="muted">none</td></tr>'; }
function chart(series) {
  const w = 720, h = 160, pad = 28, max = Math.max(1, ...series.map((p) => p[1]));
  const x = (i) => pad + (i * (w - pad - 4)) / Math.max(1, series.length - 1), y = (v) => h - 18 - (v * (h - 30)) / max;
  const line = series.map((p, i) => (i ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(p[1]).toFixed(1)).join(' ');
  $('chart').innerHTML = '<line x1="' + pad + '" y1="' + (h - 18) + '" x2="' + w + '" y2="' + (h - 18) + '" stroke="#bbb"/>' +
    '<text x="2" y="14" font-size="11" fill="#555">' + max + '</text><text x="2" y="' + (h - 20) + '" font-size="11" fill="#555">0</text>' +
    '<text x="' + pad + '" y="' + (h - 4) + '" font-size="11" fill="#555">-' + Math.round(series.length / 60) + ' min</text><text x="' + (w - 30) + '" y="' + (h - 4) + '" font-size="11" fill="#555">now</text>' +
    '<path d="' + line + '" fill="none" stroke="#0969da" stroke-width="1.5"/>';
}`;

/** Fills the page from one /api/status answer. */
const RENDER = `function render(s) {
  const up = Math.round((s.at - s.startedAt) / 1000);
  $('summary').textContent = 'updated ' + new Date(s.at).toLocaleTimeString('en-GB') + ' · up ' + up + ' s · ' + s.nodes.filter((n) => n.up).length + ' of ' + s.nodes.length + ' nodes up';
  const c = s.lockCell;
  $('cell-name').textContent = '/ls/' + c.cell;
  $('cell-master').innerHTML = c.master ? esc(c.master) : '<span class="down">none</span>';
  $('sessions').textContent = num(c.sessions);
  rows('replicas', c.replicas, (r) => '<tr data-name="' + esc(r.node) + '"><td>' + esc(r.node) + '</td><td class="state">' + state(r.up) + '</td><td>' + r.role + '</td><td class="lease">' + (r.leaseUntil ? 'held until ' + new Date(r.leaseUntil).toLocaleTimeString('en-GB') + '.' + String(r.leaseUntil % 1000).padStart(3, '0').slice(0, 1) + ' (' + ((r.leaseUntil - s.at) / 1000).toFixed(1) + ' s)' : '') + '</td><td class="num">' + num(r.commitIndex) + '</td><td class="num">' + num(r.applied) + '</td></tr>');
  rows('clients', c.clients, (k) => '<tr><td>' + esc(k.client) + '</td><td class="num">' + num(k.session) + '</td><td>' + esc(k.state) + '</td></tr>');
  rows('locks', c.locksHeld, (l) => '<tr><td>' + esc(l.path) + '</td><td>' + esc(l.client) + '</td><td>' + l.mode + '</td><td class="num">' + l.generation + '</td></tr>');
  const g = s.gfs, m = g.status;
  $('gfs-master').innerHTML = g.master.node ? esc(g.master.node) : '<span class="down">none in office (failing over)</span>';
  $('gfs-generation').textContent = num(g.master.generation);
  rows('gfs-replicas', g.replicas, (r) => '<tr data-name="' + esc(r.node) + '"><td>' + esc(r.node) + '</td><td class="state">' + state(r.up) + '</td><td class="role">' + r.role + '</td><td class="num log">' + num(r.logPosition) +
    '</td><td class="num lag-records">' + num(r.lagRecords) + '</td><td class="num lag-ms">' + num(r.lagMs) + '</td><td>' + (r.role === 'master' ? '' : r.inSync ? 'yes' : r.configured === 'shadow' ? '<span class="muted">shadow</span>' : 'no') + '</td></tr>');
  $('files').textContent = m ? num(m.files) : '?';
  $('chunks').textContent = m ? num(m.chunks) : '?';
  $('bytes').textContent = bytes(g.bytesStored);
  $('under-replicated').textContent = m ? num(m.underReplicated) : '?';
  $('clones').innerHTML = !m ? '?' : m.clonesInFlight.length === 0 ? '0' : m.clonesInFlight.length + ': ' + m.clonesInFlight.map((k) => 'chunk ' + k.handle + ' ' + esc(k.source) + '→' + esc(k.target)).join(', ');
  rows('chunkservers', g.chunkservers, (k) => '<tr data-name="' + esc(k.name) + '"><td>' + esc(k.name) + '</td><td>' + esc(k.rack) + '</td><td class="state">' +
    (k.up && k.live ? state(true) : !k.up ? state(false) : '<span class="muted">not heard yet</span>') + '</td><td class="num">' + bytes(k.usedBytes) + ' of ' + bytes(k.capacityBytes) + '</td><td class="num">' + num(k.chunks) + '</td></tr>');
  rows('nodes', s.nodes, (n) => {
    const t = n.stats;
    return '<tr data-name="' + esc(n.name) + '"><td>' + esc(n.name) + '</td><td>' + n.role + '</td><td class="state">' + state(n.up) + '</td>' +
      (t ? '<td class="num">' + num(t.actors) + '</td><td class="num">' + num(t.messagesIn) + '</td><td class="num">' + num(t.messagesOut) + '</td><td class="num">' + num(t.mailboxTotal) + '</td><td class="num">' + num(t.deadLetters.total) + '</td><td class="num">' + num(t.storage.commits) + '</td>'
         : '<td colspan="6" class="muted">no stats</td>') + '</tr>';
  });
  $('chart-span').textContent = Math.round(s.ops.length / 60);
  chart(s.ops);
}`;

/** Asks /api/status every second. */
const POLL = `async function tick() {
  try { const r = await fetch('/api/status'); if (r.ok) render(await r.json()); else $('summary').textContent = 'status: HTTP ' + r.status; }
  catch (e) { $('summary').textContent = 'the system does not answer (stopped?)'; }
  setTimeout(tick, 1000);
}
tick();`;
