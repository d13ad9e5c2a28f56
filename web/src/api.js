// HTTP API calls (PROTOCOL.md "HTTP API") and the signed-in session, kept in localStorage: the
// token never appears in a URL.
const KEY = 'switchboard.session';

export class ApiError extends Error {
  constructor(status, code, message, retryAfterMs) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

export function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) || 'null');
    return s && s.token && s.user ? s : null;
  } catch {
    return null;
  }
}
export function saveSession(s) {
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
}

// This tab's device id for hello: each tab is a device of its own (so two tabs do not replace each
// other's session); a reload keeps it.
export function deviceId() {
  let id = sessionStorage.getItem('switchboard.device');
  if (!id) {
    id = 'web-' + crypto.randomUUID();
    sessionStorage.setItem('switchboard.device', id);
  }
  return id;
}

let token = null;
export function setToken(t) {
  token = t;
}
export function currentToken() {
  return token;
}

// One JSON call. Errors become ApiError with the protocol's code.
export async function api(method, path, body, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (token && !opts.anonymous) headers.Authorization = 'Bearer ' + token;
  let payload = body;
  if (body !== undefined && !(body instanceof Blob) && typeof body !== 'string') {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload });
  } catch (e) {
    throw new ApiError(0, 'unavailable', 'The server cannot be reached');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = (json && json.error) || {};
    throw new ApiError(res.status, e.code || 'internal', e.message || res.statusText, e.retry_after_ms);
  }
  return json;
}

// All pages of a paged list ({items, next_cursor}), up to `max` items.
export async function apiAll(path, max = 5000) {
  const out = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', path + sep + 'limit=200' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

// An upload with progress (fetch has none): resolves to {media_id, size, sha256, content_type}.
export function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/media?name=' + encodeURIComponent(file.name || 'file'));
    xhr.setRequestHeader('Authorization', 'Bearer ' + token);
    xhr.setRequestHeader('Content-Type', mediaType(file));
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let json = null;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {
        /* empty */
      }
      if (xhr.status === 201) return resolve(json);
      const e = (json && json.error) || {};
      reject(new ApiError(xhr.status, e.code || 'internal', e.message || 'upload failed'));
    };
    xhr.onerror = () => reject(new ApiError(0, 'unavailable', 'The upload was cut off'));
    xhr.send(file);
  });
}

const accepted = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'audio/ogg', 'audio/mpeg', 'audio/mp4',
  'application/pdf'];
export function mediaType(file) {
  return accepted.includes(file.type) ? file.type : 'application/octet-stream';
}

// Media bytes, fetched with the token, as an object URL (cached: media never changes).
const mediaUrls = new Map();
export function mediaUrl(id) {
  if (!mediaUrls.has(id)) {
    mediaUrls.set(id, fetch('/v1/media/' + encodeURIComponent(id), { headers: { Authorization: 'Bearer ' + token } })
      .then((r) => {
        if (!r.ok) throw new ApiError(r.status, 'not_found', 'media unavailable');
        return r.blob();
      })
      .then((b) => URL.createObjectURL(b))
      .catch((e) => {
        mediaUrls.delete(id);
        throw e;
      }));
  }
  return mediaUrls.get(id);
}
