// The page's one door to the server: JSON calls with the API key, and
// server-sent events read from fetch (EventSource cannot send an
// Authorization header), with reconnection that resumes after the last event id.
const KEY = 'whet.apiKey';
let keyPrompt = null;  // one dialog at a time, however many calls are waiting on it

export class ApiError extends Error {
  constructor(status, body) {
    const error = body && body.error ? body.error : null;
    super(error ? error.message : `HTTP ${status}`);
    this.status = status;
    this.param = error ? error.param : null;
    this.code = error ? error.code : null;
  }
}

// Asks for a key before the first call when the server has keys and this tab has none.
export async function startSession() {
  const session = await (await fetch('/dashboard/session')).json();
  if (session.keys_required && !sessionStorage.getItem(KEY)) await askForKey('');
  return session;
}

export function askForKey(message) {
  if (keyPrompt) return keyPrompt;
  const dialog = document.getElementById('key-dialog');
  const error = document.getElementById('key-error');
  const input = document.getElementById('key-input');
  error.hidden = !message;
  error.textContent = message;
  input.value = '';
  keyPrompt = new Promise((resolve) => {
    const form = document.getElementById('key-form');
    form.onsubmit = (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY, input.value.trim());
      dialog.close();
      keyPrompt = null;
      resolve();
    };
  });
  dialog.showModal();
  return keyPrompt;
}

function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

async function errorOf(response) {
  let body = null;
  try { body = await response.json(); } catch (e) { /* not JSON: the status says enough */ }
  return new ApiError(response.status, body);
}

// fetch with the key; a 401 asks for a key and tries again. `json` is sent as
// the body, `form` (FormData) as multipart. Returns the parsed JSON, the text
// for other types, or the Response itself with raw: true (for streams).
export async function api(path, { method = 'GET', json, form, signal, raw = false, extraHeaders = {} } = {}) {
  for (;;) {
    const init = { method, signal, headers: headers(json === undefined ? extraHeaders : { ...extraHeaders, 'Content-Type': 'application/json' }) };
    if (json !== undefined) init.body = JSON.stringify(json);
    if (form) init.body = form;
    const response = await fetch(path, init);
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      await askForKey('The server refused the key: give another.');
      continue;
    }
    if (!response.ok) throw await errorOf(response);
    if (raw) return response;
    const type = response.headers.get('Content-Type') || '';
    return type.includes('json') ? response.json() : response.text();
  }
}

// Every page of an OpenAI-style list (?after=&limit=), newest first.
export async function listAll(path, limit = 100) {
  const items = [];
  let after = '';
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(`${path}${sep}limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    items.push(...page.data);
    if (!page.has_more || page.data.length === 0) return items;
    after = page.last_id;
  }
}

// Calls onEvent({id, event, data}) for each server-sent event of a response
// body, until the body ends; data is the event's data lines joined by '\n'.
export async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = { id: null, event: 'message', data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, '');
      buffer = buffer.slice(end + 1);
      if (line === '') {
        if (event.data.length) onEvent({ id: event.id, event: event.event, data: event.data.join('\n') });
        event = { id: null, event: 'message', data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;  // a comment: the server keeping the connection alive
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') event.data.push(text);
      else if (field === 'event') event.event = text;
      else if (field === 'id') event.id = text;
    }
  }
}

const status = { live: 0, waiting: 0 };
function showConnection() {
  const badge = document.getElementById('connection');
  if (!badge) return;
  badge.textContent = status.waiting ? 'reconnecting…' : status.live ? 'live' : '';
  badge.className = `connection ${status.waiting ? 'waiting' : status.live ? 'live' : ''}`;
}

// A server-sent event stream that stays open: when the connection drops (a
// restarted server, a network blip) it reconnects after a pause, sending
// Last-Event-ID so the server continues after the last event received.
// Returns {close()}. onEnd(error) is called once when it stops for good
// (closed, or a 4xx other than 401 that retrying would not mend).
export function subscribe(path, onEvent, { lastEventId = null, onEnd = () => {} } = {}) {
  const controller = new AbortController();
  let lastId = lastEventId;
  let closed = false;
  (async () => {
    let pause = 500;
    while (!closed) {
      let counted = false;
      try {
        const extraHeaders = lastId === null ? {} : { 'Last-Event-ID': String(lastId) };
        const response = await api(path, { raw: true, signal: controller.signal, extraHeaders });
        status.live++; counted = true; showConnection();
        pause = 500;
        await readEvents(response, (e) => {
          if (e.id !== null) lastId = e.id;
          onEvent(e);
        });
      } catch (error) {
        if (closed) break;
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
          closed = true;
          onEnd(error);
          break;
        }
      } finally {
        if (counted) { status.live--; showConnection(); }
      }
      if (closed) break;
      status.waiting++; showConnection();
      await new Promise((resolve) => setTimeout(resolve, pause));
      status.waiting--; showConnection();
      pause = Math.min(pause * 2, 8000);
    }
  })();
  return {
    close() {
      if (closed) return;
      closed = true;
      controller.abort();
      onEnd(null);
    },
  };
}
