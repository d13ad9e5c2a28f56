// The WebSocket client and what it knows (PROTOCOL.md "WebSocket"): one connection with hello,
// requests matched to replies by id, events applied to the state, reconnection with backoff and
// a gapless catch-up after it (convs, then sync of each conversation from the last seq held),
// and an outbox whose sends keep their client_msg_id across retries, so a flaky network never
// sends a message twice.
import { deviceId } from './api.js';
import { Calls } from './calls.js';

const VERSION = '1.0.0';
const TYPING_SHOWN_MS = 6000;
const HEARTBEAT_MS = 25000;
const HEARTBEAT_TIMEOUT_MS = 10000;

export class ChatClient {
  constructor(session, { onSignedOut } = {}) {
    this.session = session;
    this.me = session.user;
    this.onSignedOut = onSignedOut;
    this.state = 'connecting';  // connecting, online, offline, replaced (by another tab)
    this.convs = new Map();  // conv id -> Conv
    this.messages = new Map();  // conv id -> Map(seq -> Message)
    this.older = new Map();  // conv id -> whether older history exists (undefined: not loaded)
    this.members = new Map();  // conv id -> [user ids] (conv_info)
    this.outbox = [];  // sends not yet acknowledged: {conv, client_msg_id, type, body, ts, state}
    this.users = new Map();  // user id -> User (directory)
    this.presence = new Map();  // user id -> {online, last_seen}
    this.typing = new Map();  // conv id -> Map(user -> until ms)
    this.peerRead = new Map();  // conv id -> highest seq the other member of a direct conv read
    this.notices = [];
    this.listeners = new Set();
    this.pending = new Map();
    this.nextId = 1;
    this.attempt = 0;
    this.closed = false;
    this.version = 0;
    this.calls = new Calls(this);
    // The browser knows first when the network goes: drop the connection (it may linger half-open
    // for minutes) and come back as soon as the network does.
    this.onOffline = () => this.ws && this.ws.readyState <= 1 && this.ws.close();
    this.onOnline = () => this.reconnectNow();
    addEventListener('offline', this.onOffline);
    addEventListener('online', this.onOnline);
    // A connection that stops answering is dead even when nothing said so: ping it.
    this.heartbeat = setInterval(() => {
      if (this.state !== 'online') return;
      const ws = this.ws;
      this.request('ping', {}, HEARTBEAT_TIMEOUT_MS).catch((e) => {
        if (e.code === 'timeout' && ws === this.ws) ws.close();
      });
    }, HEARTBEAT_MS);
    this.connect();
  }

  // --- state subscription ---
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  changed() {
    this.version++;
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const fn of this.listeners) fn(this.version);
    });
  }

  // --- connection ---
  connect() {
    if (this.closed) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/v1/ws`);
    this.ws = ws;
    this.state = 'connecting';
    this.changed();
    ws.onopen = () => this.hello();
    ws.onmessage = (e) => this.frame(e.data);
    ws.onclose = (e) => this.dropped(ws, e.code);
  }

  async hello() {
    try {
      const r = await this.request('hello', {
        token: this.session.token,
        device: { id: deviceId(), platform: 'web', version: VERSION },
      });
      this.me = r.user;
      this.sessionId = r.session_id;
      this.attempt = 0;
      this.state = 'online';
      this.changed();
      await this.catchUp();
      this.flushOutbox();
      this.subscribePresence();
    } catch (e) {
      /* the close that follows a failed hello says what to do */
    }
  }

  dropped(ws, code) {
    if (ws !== this.ws) return;
    for (const p of this.pending.values()) p.reject(Object.assign(new Error('disconnected'), { code: 'disconnected' }));
    this.pending.clear();
    for (const m of this.outbox) if (m.state === 'sending') m.state = 'waiting';
    this.state = 'offline';
    this.changed();
    // 4401: the token is no good (revoked, logged out); 4403: suspended or removed.
    if (code === 4401 || code === 4403) {
      this.close();
      this.onSignedOut && this.onSignedOut(code === 4403 ? 'Your account was suspended or removed.' : 'Your session ended. Sign in again.');
      return;
    }
    // Another tab with this tab's device id took over (a duplicated tab): stay out of its way.
    if (this.kickedReason === 'replaced') {
      this.state = 'replaced';
      this.changed();
      return;
    }
    const delay = Math.min(10000, 500 * 2 ** this.attempt++) * (0.75 + Math.random() / 2);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  // Connects again now rather than after the backoff (the network is back, or the user asked).
  reconnectNow() {
    if (this.closed) return;
    this.kickedReason = null;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    if (this.ws && this.ws.readyState <= 1) this.ws.close();  // its close event reconnects
    else this.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    removeEventListener('offline', this.onOffline);
    removeEventListener('online', this.onOnline);
    this.calls.stop();
    if (this.ws) this.ws.close(1000);
  }

  request(op, data = {}, timeoutMs = 15000) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(Object.assign(new Error('not connected'), { code: 'disconnected' }));
        return;
      }
      const id = String(this.nextId++);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(Object.assign(new Error(op + ' timed out'), { code: 'timeout' }));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.ws.send(JSON.stringify({ id, op, data }));
    });
  }

  frame(text) {
    let f;
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    if (f.ev) return this.event(f.ev, f.data || {});
    const p = this.pending.get(f.id);
    if (!p) return;
    this.pending.delete(f.id);
    if (f.ok) p.resolve(f.data || {});
    else p.reject(Object.assign(new Error(f.error.message), f.error));
  }

  // --- catch-up ---
  async catchUp() {
    const { convs } = await this.request('convs');
    for (const c of convs) this.convs.set(c.conv, c);
    this.changed();
    // Every conversation whose messages are loaded gets what it missed, page by page.
    for (const [conv, msgs] of this.messages) {
      let after = Math.max(0, ...msgs.keys());
      for (;;) {
        const r = await this.request('sync', { conv, after_seq: after, limit: 500 });
        for (const m of r.messages) this.addMessage(m);
        if (!r.has_more || r.messages.length === 0) break;
        after = r.messages[r.messages.length - 1].seq;
      }
    }
    this.changed();
  }

  // --- events ---
  event(ev, d) {
    switch (ev) {
      case 'message':
        this.addMessage(d);
        this.bump(d, d.from !== this.me.user);
        this.clearTyping(d.conv, d.from);
        break;
      case 'conv_update':
        this.convs.set(d.conv.conv, { ...this.convs.get(d.conv.conv), ...d.conv });
        this.members.delete(d.conv.conv);  // loaded again when next shown
        break;
      case 'read': {
        if (d.user === this.me.user) {
          const c = this.convs.get(d.conv);
          if (c && d.seq > c.read_seq) this.convs.set(d.conv, { ...c, read_seq: d.seq, unread: Math.max(0, c.last_seq - d.seq) });
        } else {
          this.peerRead.set(d.conv, Math.max(this.peerRead.get(d.conv) || 0, d.seq));
        }
        break;
      }
      case 'typing': {
        if (!this.typing.has(d.conv)) this.typing.set(d.conv, new Map());
        this.typing.get(d.conv).set(d.user, Date.now() + TYPING_SHOWN_MS);
        setTimeout(() => this.changed(), TYPING_SHOWN_MS + 50);
        break;
      }
      case 'recalled': {
        const m = this.messages.get(d.conv)?.get(d.seq);
        if (m) this.messages.get(d.conv).set(d.seq, { ...m, recalled: true, body: {} });
        break;
      }
      case 'presence':
        this.presence.set(d.user, { online: d.online, last_seen: d.last_seen });
        break;
      case 'notice':
        this.notices.unshift(d);
        this.unseenNotices = (this.unseenNotices || 0) + 1;
        break;
      case 'kicked':
        this.kickedReason = d.reason;
        break;
      case 'call_incoming':
      case 'call_update':
      case 'call_signal':
      case 'call_ended':
        this.calls.event(ev, d);
        break;
      case 'resync':
        this.catchUp().catch(() => {});
        break;
      default:
        break;
    }
    this.changed();
  }

  clearTyping(conv, user) {
    this.typing.get(conv)?.delete(user);
  }
  typingIn(conv) {
    const t = this.typing.get(conv);
    if (!t) return [];
    const now = Date.now();
    return [...t].filter(([u, until]) => until > now && u !== this.me.user).map(([u]) => u);
  }

  addMessage(m) {
    if (!this.messages.has(m.conv)) return;  // not loaded: history brings it when opened
    this.messages.get(m.conv).set(m.seq, m);
  }

  // A conversation's list entry after a message: newest activity first, unread counted.
  bump(m, fromOther) {
    const c = this.convs.get(m.conv);
    if (!c) {
      this.request('conv_info', { conv: m.conv }).then((r) => {
        this.convs.set(m.conv, r.conv);
        this.changed();
      }).catch(() => {});
      return;
    }
    const last = Math.max(c.last_seq, m.seq);
    const read = fromOther ? c.read_seq : Math.max(c.read_seq, m.seq);
    this.convs.set(m.conv, { ...c, last_seq: last, read_seq: read, unread: Math.max(0, last - read), updated_at: Math.max(c.updated_at || 0, m.ts) });
  }

  sortedConvs() {
    return [...this.convs.values()].sort((a, b) => (b.updated_at || 0) - (a.updated_at || 0));
  }

  // --- a conversation's messages ---
  async openConv(conv) {
    if (!this.messages.has(conv)) {
      this.messages.set(conv, new Map());
      try {
        const r = await this.request('history', { conv, limit: 50 });
        for (const m of r.messages) this.addMessage(m);
        this.older.set(conv, r.has_more);
      } catch (e) {
        this.messages.delete(conv);
        throw e;
      }
      this.changed();
    }
    if (!this.members.has(conv)) this.loadMembers(conv);
  }

  async loadMembers(conv) {
    this.membersLoading ||= new Set();
    if (this.membersLoading.has(conv) || this.state !== 'online') return;
    this.membersLoading.add(conv);
    try {
      const r = await this.request('conv_info', { conv });
      this.members.set(conv, r.conv.members.map((m) => m.user));
      const { members, ...info } = r.conv;
      this.convs.set(conv, { ...this.convs.get(conv), ...info });
      this.subscribePresence();
      this.changed();
    } finally {
      this.membersLoading.delete(conv);
    }
  }

  async loadOlder(conv) {
    const msgs = this.messages.get(conv);
    if (!msgs || !this.older.get(conv) || this.loadingOlder) return;
    this.loadingOlder = true;
    try {
      const before = Math.min(...msgs.keys());
      const r = await this.request('history', { conv, before_seq: before, limit: 50 });
      for (const m of r.messages) this.addMessage(m);
      this.older.set(conv, r.has_more);
      this.changed();
    } finally {
      this.loadingOlder = false;
    }
  }

  list(conv) {
    const msgs = this.messages.get(conv);
    const held = msgs ? [...msgs.values()].sort((a, b) => a.seq - b.seq) : [];
    const waiting = this.outbox.filter((o) => o.conv === conv);
    return { held, waiting };
  }

  async markRead(conv) {
    const c = this.convs.get(conv);
    if (!c || c.read_seq >= c.last_seq || this.state !== 'online') return;
    const seq = c.last_seq;
    this.convs.set(conv, { ...c, read_seq: seq, unread: 0 });
    this.changed();
    try {
      await this.request('read', { conv, seq });
    } catch {
      /* the next view tries again */
    }
  }

  typingNow(conv) {
    const now = Date.now();
    if (this.lastTyping && this.lastTyping.conv === conv && now - this.lastTyping.at < 3000) return;
    this.lastTyping = { conv, at: now };
    this.request('typing', { conv }).catch(() => {});
  }

  // --- sending ---
  send(conv, type, body) {
    const item = { conv, client_msg_id: crypto.randomUUID(), type, body, ts: Date.now(), state: 'waiting', from: this.me.user };
    this.outbox.push(item);
    this.changed();
    this.trySend(item);
    return item;
  }

  flushOutbox() {
    for (const item of this.outbox) if (item.state === 'waiting') this.trySend(item);
  }

  async trySend(item) {
    if (this.state !== 'online' || item.state === 'sending') return;
    item.state = 'sending';
    this.changed();
    try {
      const r = await this.request('send', { conv: item.conv, client_msg_id: item.client_msg_id, type: item.type, body: item.body });
      this.outbox = this.outbox.filter((o) => o !== item);
      const m = { conv: item.conv, seq: r.seq, msg_id: r.msg_id, from: this.me.user, client_msg_id: item.client_msg_id, type: item.type, body: item.body, ts: r.ts };
      this.addMessage(m);
      this.bump(m, false);
    } catch (e) {
      if (e.code === 'disconnected' || e.code === 'timeout' || e.code === 'unavailable') {
        item.state = 'waiting';  // resent with the same client_msg_id after the reconnect
      } else if (e.code === 'rate_limited') {
        item.state = 'waiting';
        setTimeout(() => this.trySend(item), e.retry_after_ms || 1000);
      } else {
        item.state = 'failed';
        item.error = e.message;
      }
    }
    this.changed();
  }

  retry(item) {
    item.state = 'waiting';
    this.trySend(item);
  }
  discard(item) {
    this.outbox = this.outbox.filter((o) => o !== item);
    this.changed();
  }

  async recall(conv, seq) {
    await this.request('recall', { conv, seq });
  }

  // --- presence ---
  subscribePresence() {
    const peers = new Set();
    for (const [, ids] of this.members) for (const u of ids) if (u !== this.me.user) peers.add(u);
    const users = [...peers].slice(0, 500);
    if (users.length === 0 || this.state !== 'online') return;
    this.request('presence_sub', { users }).catch(() => {});
    this.request('presence', { users }).then((r) => {
      for (const [u, p] of Object.entries(r.presence)) this.presence.set(u, p);
      this.changed();
    }).catch(() => {});
  }

  // --- names ---
  name(user) {
    if (user === this.me.user) return this.me.name;
    return this.users.get(user)?.name || 'User ' + user;
  }
  convName(c) {
    if (!c) return '';
    if (c.kind === 'group') return c.name || 'Group';
    const peer = (this.members.get(c.conv) || []).find((u) => u !== this.me.user);
    if (!this.members.has(c.conv)) this.loadMembers(c.conv).catch(() => {});
    return peer ? this.name(peer) : 'Direct chat';
  }
  peerOf(conv) {
    const c = this.convs.get(conv);
    if (!c || c.kind !== 'direct') return null;
    return (this.members.get(conv) || []).find((u) => u !== this.me.user) || null;
  }
}
