/**
 * The dashboard page (GET /dashboard). Static markup only: no inline script or style (the Content-Security-Policy
 * forbids both), no data (app.js fills it in with textContent once logged in), nothing from another origin.
 */
export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>boxoffice dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>boxoffice</h1>
  <span id="status" role="status">logged out</span>
  <button id="logout" type="button" hidden>Log out</button>
</header>
<section id="login" class="panel">
  <h2>Log in</h2>
  <form id="login-form" autocomplete="off">
    <label for="token">Admin token</label>
    <input id="token" type="password" autocomplete="current-password" required>
    <button id="login-button" type="submit">Log in</button>
  </form>
  <p id="login-error" class="error" role="alert"></p>
  <p class="hint">The token is kept for this tab only (sessionStorage) and sent as a Bearer header, never in a URL.</p>
</section>
<main id="board" hidden>
  <section class="panel wide">
    <h2>Throughput <small>(checkouts a second, this node, last 5 minutes)</small></h2>
    <svg id="chart-throughput" class="chart" viewBox="0 0 600 120" preserveAspectRatio="none" role="img" aria-label="throughput"></svg>
    <p>now <b id="throughput-now">—</b>/s · sales <b id="sales-now">—</b>/s · checkouts in the window <b id="checkouts-window">—</b> · peak <b id="throughput-max">—</b>/s</p>
  </section>
  <section class="panel wide">
    <h2>p99 latency <small>(ms, this node)</small></h2>
    <svg id="chart-p99" class="chart" viewBox="0 0 600 120" preserveAspectRatio="none" role="img" aria-label="p99 latency"></svg>
    <p>now <b id="p99-now">—</b> ms · peak <b id="p99-max">—</b> ms</p>
  </section>
  <section class="panel wide">
    <h2>Cluster</h2>
    <p>served by <b id="node-id">—</b> · mode <b id="mode">—</b> · coordinator <b id="coordinator">—</b> · unowned <b id="unowned">—</b></p>
    <p id="cluster-error" class="error"></p>
    <table id="nodes"><thead><tr><th>node</th><th>address</th><th>alive</th><th>draining</th><th>partitions</th><th>isolated</th><th></th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel">
    <h2>Actions</h2>
    <form id="move-form" autocomplete="off">
      <label for="move-partition">Move partition</label>
      <input id="move-partition" type="number" min="0" step="1" required>
      <label for="move-to">to</label>
      <select id="move-to" required></select>
      <button id="move-button" type="submit">Move…</button>
    </form>
    <form id="isolate-form" autocomplete="off">
      <label for="isolate-sku">Isolate SKU</label>
      <input id="isolate-sku" type="text" maxlength="64" required>
      <button id="isolate-button" type="submit">Isolate…</button>
    </form>
    <div id="confirm" class="confirm" hidden>
      <p id="confirm-text"></p>
      <button id="confirm-yes" type="button">Confirm</button>
      <button id="confirm-no" type="button">Cancel</button>
    </div>
    <p id="action-result" role="status"></p>
  </section>
  <section class="panel">
    <h2>Hot SKUs <small>(live stock)</small></h2>
    <table id="hot-skus"><thead><tr><th>SKU</th><th>available</th><th>checkouts/s</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel">
    <h2>Holds, payments, events</h2>
    <dl id="gauges"></dl>
  </section>
  <section class="panel">
    <h2>Holds about to expire <small>(this node, soonest first)</small></h2>
    <table id="expiring-holds"><thead><tr><th>SKU</th><th>hold</th><th>qty</th><th>expires in (s)</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel">
    <h2>Pending orders <small>(oldest first)</small></h2>
    <table id="pending"><thead><tr><th>order</th><th>age (s)</th><th>amount</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel">
    <h2>Provider health</h2>
    <table id="provider-latency"><thead><tr><th>call</th><th>p99 (ms)</th><th>calls</th></tr></thead><tbody></tbody></table>
    <table id="provider-errors"><thead><tr><th>call</th><th>error</th><th>count</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel">
    <h2>Drops and their queues</h2>
    <table id="drops"><thead><tr><th>SKU</th><th>state</th><th>queued</th><th>admitted</th><th>sold</th><th>remaining</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel wide">
    <h2>Partitions</h2>
    <table id="partitions"><thead><tr><th>partition</th><th>owner</th><th>epoch</th><th>pinned</th><th>isolated</th></tr></thead><tbody></tbody></table>
  </section>
</main>
</body>
</html>
`;
