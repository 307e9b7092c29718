import { renderJs } from './render-js.js';

/**
 * The dashboard's script (GET /dashboard/app.js): plain browser JavaScript, no framework, no build step, kept as a
 * string so that `tsc` ships it inside dist with the rest of the node (the Docker image holds only dist) and the
 * page works offline. The browser tests (test/browser/dashboard.test.ts) run it in Chromium. It must hold no
 * backtick and no dollar-brace: it sits in a String.raw template.
 */
const sessionJs = String.raw`
// Session, stream and actions. The token lives in sessionStorage (this tab only) and in the Authorization header of
// each call; the stream is read with fetch() and a stream reader, since EventSource cannot send that header.
const tokenKey = 'boxoffice.adminToken';
const retryMs = 2000;
let token = null;
let stream = null;
let pendingAction = null;
let loginPending = false;
let loginRetry = null;

function show(loggedIn) {
  $('login').hidden = loggedIn;
  $('board').hidden = !loggedIn;
  $('logout').hidden = !loggedIn;
}

async function call(method, path, body) {
  const init = { method, headers: { authorization: 'Bearer ' + token }, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  return { status: res.status, body: json, retryAfter: res.headers.get('retry-after') };
}

/** How long to wait before asking again: the answer's Retry-After (seconds, kept within 1 to 30), else retryMs. */
function retryDelay(retryAfter) {
  const s = Number(retryAfter);
  return retryAfter !== null && Number.isFinite(s) ? Math.min(30, Math.max(1, s)) * 1000 : retryMs;
}

function refusal(r) {
  const e = r.body && r.body.error;
  return e ? e.code + ' (' + r.status + '): ' + e.message : 'HTTP ' + r.status;
}

/** One login at a time: a second submit while one is pending is ignored (the button is disabled meanwhile). */
async function logIn(candidate) {
  if (loginPending) return;
  clearTimeout(loginRetry);
  loginPending = true;
  $('login-button').disabled = true;
  try {
    await tryLogIn(candidate);
  } finally {
    loginPending = false;
    $('login-button').disabled = false;
  }
}

/** Only 401 and 403 forget the token; any other refusal (503 while the node recovers, 429, 500, no answer) retries. */
async function tryLogIn(candidate) {
  token = candidate;
  $('login-error').textContent = '';
  let r;
  try {
    r = await call('GET', '/api/admin/dashboard');
  } catch (e) {
    r = { status: 0, body: null, retryAfter: null };
  }
  if (r.status === 401 || r.status === 403) {
    token = null;
    sessionStorage.removeItem(tokenKey);
    $('login-error').textContent = 'Refused: ' + refusal(r);
    show(false);
    return;
  }
  if (r.status !== 200) {
    token = null;
    const delay = retryDelay(r.retryAfter);
    $('login-error').textContent = (r.status === 0 ? 'The node does not answer.' : 'Not now: ' + refusal(r)) + ' Retrying in ' + delay / 1000 + ' s.';
    show(false);
    loginRetry = setTimeout(() => logIn(candidate), delay);
    return;
  }
  sessionStorage.setItem(tokenKey, candidate);
  $('token').value = '';
  show(true);
  render(r.body);
  connect();
}

function logOut(message) {
  clearTimeout(loginRetry);
  token = null;
  sessionStorage.removeItem(tokenKey);
  if (stream) stream.abort();
  stream = null;
  rendered.clear();
  $('token').value = '';
  $('status').textContent = 'logged out';
  $('login-error').textContent = message || '';
  show(false);
}

/** Opens the stream; one that is already open (a second login, a reconnect) is aborted first, never left open. */
async function connect() {
  if (stream) stream.abort();
  stream = null;
  if (token === null) return;
  const ctrl = new AbortController();
  stream = ctrl;
  let delay = retryMs;
  try {
    const res = await fetch('/api/admin/dashboard/stream', { headers: { authorization: 'Bearer ' + token }, signal: ctrl.signal, cache: 'no-store' });
    if (res.status === 401 || res.status === 403) return logOut('The token was refused (' + res.status + ').');
    if (res.status !== 200) {
      delay = retryDelay(res.headers.get('retry-after'));
      $('status').textContent = 'stream refused (HTTP ' + res.status + '); retrying';
    } else {
      await readEvents(res.body.pipeThrough(new TextDecoderStream()).getReader());
    }
  } catch (e) {
    if (ctrl.signal.aborted) return;
  }
  if (stream === ctrl && token !== null) {
    $('status').textContent = 'disconnected; reconnecting';
    setTimeout(() => { if (stream === ctrl) connect(); }, delay);
  }
}

async function readEvents(reader) {
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      onEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
}

function onEvent(block) {
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5).trim();
  }
  if (event === 'snapshot') render(JSON.parse(data));
}

/** An in-page confirmation: the action runs only on Confirm. */
function ask(text, action) {
  pendingAction = action;
  $('confirm-text').textContent = text;
  $('confirm').hidden = false;
  $('confirm-yes').focus();
}

async function confirmed() {
  const action = pendingAction;
  pendingAction = null;
  $('confirm').hidden = true;
  if (!action) return;
  $('action-result').textContent = 'working\u2026';
  try {
    const r = await action();
    $('action-result').textContent = r.status === 200 ? 'Done: ' + JSON.stringify(r.body) : 'Refused: ' + refusal(r);
    $('action-result').className = r.status === 200 ? 'ok' : 'error';
  } catch (e) {
    $('action-result').textContent = 'Failed: the node did not answer.';
    $('action-result').className = 'error';
  }
}

function ownerOf(partition) {
  const p = lastCluster && !lastCluster.error ? lastCluster.partitions.find((x) => x.partition === partition) : undefined;
  return p ? p.nodeId : 'its owner';
}

function askDrain(nodeId, drain) {
  const verb = drain ? 'drain' : 'undrain';
  ask((drain ? 'Drain node ' : 'Undrain node ') + nodeId + (drain ? ': move every partition off it and keep it empty?' : ': let it take partitions again?'),
    () => call('POST', '/api/admin/nodes/' + encodeURIComponent(nodeId) + '/' + verb));
}

function wire() {
  $('login-form').addEventListener('submit', (e) => { e.preventDefault(); logIn($('token').value); });
  $('logout').addEventListener('click', () => logOut(''));
  $('confirm-yes').addEventListener('click', confirmed);
  $('confirm-no').addEventListener('click', () => { pendingAction = null; $('confirm').hidden = true; $('action-result').textContent = 'Cancelled.'; });
  $('move-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const partition = Number($('move-partition').value);
    const to = $('move-to').value;
    ask('Move partition ' + partition + ' from ' + ownerOf(partition) + ' to ' + to + '?',
      () => call('POST', '/api/admin/partitions/' + encodeURIComponent(String(partition)) + '/move', { to }));
  });
  $('isolate-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const sku = $('isolate-sku').value;
    ask('Isolate SKU ' + sku + ': give its partition a node of its own?', () => call('POST', '/api/admin/isolate', { sku }));
  });
  const saved = sessionStorage.getItem(tokenKey);
  if (saved) logIn(saved);
  else show(false);
}

wire();
`;

export const appJs = `(() => {\n'use strict';\n${renderJs}\n${sessionJs}\n})();\n`;
