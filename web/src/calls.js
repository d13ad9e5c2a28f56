// Voice and video calls (PROTOCOL.md "Calls"): the server owns each call's state and carries the
// signalling; the media flows between browsers over WebRTC, directly or through the TURN relay
// whose credentials the server issues. Parties form a mesh: whoever accepts or joins offers to
// every party already in the call, and answers the offers of those who come after.
export class Calls {
  constructor(client) {
    this.client = client;
    this.ringing = new Map();  // call id -> Call ringing for us
    this.call = null;  // the call we are in (or placing)
    this.turn = null;
    this.local = null;  // our MediaStream
    this.peers = new Map();  // party session -> { pc, stream }
    this.ended = null;  // {call, reason, duration_ms} of the last call, for the banner
    this.error = '';
  }

  changed() {
    this.client.changed();
  }

  // --- events from the client ---
  event(ev, d) {
    if (ev === 'call_incoming') {
      if (!this.call || this.call.call !== d.call) this.ringing.set(d.call, d);
    } else if (ev === 'call_update') {
      if (this.call && this.call.call === d.call) this.call = d;
      if (this.ringing.has(d.call)) this.ringing.set(d.call, d);
      // Parties gone from the call lose their peer connection.
      if (this.call && this.call.call === d.call) {
        const live = new Set(d.parties.map((p) => p.session));
        for (const [s, peer] of this.peers) if (!live.has(s)) {
          peer.pc.close();
          this.peers.delete(s);
        }
      }
    } else if (ev === 'call_signal') {
      if (this.call && this.call.call === d.call) this.signal(d).catch((e) => (this.error = e.message));
    } else if (ev === 'call_ended') {
      this.ringing.delete(d.call);
      if (this.call && this.call.call === d.call) {
        this.ended = d;
        this.stop();
      }
    }
    this.changed();
  }

  // --- what the user does ---
  async invite(conv, media) {
    this.error = '';
    try {
      await this.media(media);
      const r = await this.client.request('call_invite', { conv, media, client_call_id: crypto.randomUUID() });
      this.call = r.call;
      this.turn = r.turn;
      this.ended = null;
      // Glare: the other side was already ringing us, and this invite answered that call.
      if (r.glare) await this.offerToParties();
    } catch (e) {
      this.error = e.message;
      this.stop();
    }
    this.changed();
  }

  async accept(id) {
    const ringing = this.ringing.get(id);
    this.ringing.delete(id);
    this.error = '';
    try {
      await this.media(ringing ? ringing.media : 'audio');
      const op = ringing && ringing.state === 'active' ? 'call_join' : 'call_accept';
      const r = await this.client.request(op, { call: id });
      this.call = r.call;
      this.turn = r.turn;
      this.ended = null;
      await this.offerToParties();
    } catch (e) {
      this.error = e.message;
      this.stop();
    }
    this.changed();
  }

  async reject(id) {
    this.ringing.delete(id);
    this.changed();
    await this.client.request('call_reject', { call: id }).catch(() => {});
  }

  async hangup() {
    const id = this.call && this.call.call;
    this.stop();
    this.changed();
    if (id) await this.client.request('call_hangup', { call: id }).catch(() => {});
  }

  // --- media and peers ---
  async media(kind) {
    this.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: kind === 'video' });
  }

  iceServers() {
    const t = this.turn;
    return t && t.uris && t.uris.length ? [{ urls: t.uris, username: t.username, credential: t.password }] : [];
  }

  peer(session) {
    if (this.peers.has(session)) return this.peers.get(session).pc;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers() });
    const entry = { pc, stream: new MediaStream(), state: 'connecting' };
    this.peers.set(session, entry);
    for (const track of this.local ? this.local.getTracks() : []) pc.addTrack(track, this.local);
    pc.ontrack = (e) => {
      entry.stream.addTrack(e.track);
      this.changed();
    };
    pc.onicecandidate = (e) => {
      if (e.candidate) this.send(session, 'ice', { candidate: e.candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => {
      entry.state = pc.connectionState;
      this.changed();
    };
    return pc;
  }

  async offerToParties() {
    const me = this.client.sessionId;
    for (const p of this.call.parties) {
      if (p.session === me || this.peers.has(p.session)) continue;
      const pc = this.peer(p.session);
      await pc.setLocalDescription(await pc.createOffer());
      this.send(p.session, 'offer', { sdp: pc.localDescription.toJSON() });
    }
  }

  async signal(d) {
    const pc = this.peer(d.from);
    if (d.kind === 'offer') {
      await pc.setRemoteDescription(d.payload.sdp);
      await pc.setLocalDescription(await pc.createAnswer());
      this.send(d.from, 'answer', { sdp: pc.localDescription.toJSON() });
    } else if (d.kind === 'answer') {
      await pc.setRemoteDescription(d.payload.sdp);
    } else if (d.kind === 'ice' && d.payload.candidate) {
      await pc.addIceCandidate(d.payload.candidate).catch(() => {});
    }
  }

  send(to, kind, payload) {
    if (!this.call) return;
    this.client.request('call_signal', { call: this.call.call, to, kind, payload }).catch(() => {});
  }

  stop() {
    for (const { pc } of this.peers.values()) pc.close();
    this.peers.clear();
    if (this.local) for (const t of this.local.getTracks()) t.stop();
    this.local = null;
    this.call = null;
  }
}
