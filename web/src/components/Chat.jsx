import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { mediaType, mediaUrl, upload } from '../api.js';
import { formatBytes, formatTime, go } from './hooks.js';
import { GroupPanel } from './GroupPanel.jsx';

export function Chat({ client, conv }) {
  const convs = client.sortedConvs();
  return (
    <div class={'chat' + (conv ? ' has-conv' : '')}>
      <section class="convlist" aria-label="Conversations">
        <header>
          <h2>Chats</h2>
          <a class="button" href="#/directory">New</a>
        </header>
        {convs.length === 0 && <p class="empty">No conversations yet. Start one from the Directory.</p>}
        <ul>
          {convs.map((c) => (
            <li key={c.conv}>
              <a href={'#/chats/' + c.conv} class={'conv' + (c.conv === conv ? ' on' : '')} aria-current={c.conv === conv ? 'true' : undefined} data-conv={c.conv}>
                <Presence client={client} user={client.peerOf(c.conv)} />
                <span class="name">{client.convName(c)}</span>
                <span class="when">{formatTime(c.updated_at)}</span>
                {c.unread > 0 && c.conv !== conv && <span class="badge" data-unread={c.unread}>{c.unread}</span>}
              </a>
            </li>
          ))}
        </ul>
      </section>
      {conv ? <ConvView key={conv} client={client} conv={conv} /> : <div class="empty pane">Choose a conversation.</div>}
    </div>
  );
}

function Presence({ client, user }) {
  if (!user) return <span class="dot none" />;
  const p = client.presence.get(user);
  const online = p && p.online;
  return <span class={'dot ' + (online ? 'online' : 'offline')} title={online ? 'online' : 'offline'} aria-label={online ? 'online' : 'offline'} />;
}

function ConvView({ client, conv }) {
  const [error, setError] = useState('');
  const [panel, setPanel] = useState(false);
  const scroller = useRef(null);
  const atBottom = useRef(true);
  const prevHeight = useRef(0);
  const c = client.convs.get(conv);

  useEffect(() => {
    client.openConv(conv).catch((e) => setError(e.message));
  }, [conv, client.state]);

  const { held, waiting } = client.list(conv);
  const newest = held.length ? held[held.length - 1].seq : 0;

  // Reading: the newest message seen moves the read cursor while the page is visible.
  useEffect(() => {
    if (document.visibilityState === 'visible') client.markRead(conv);
  }, [conv, newest, c && c.last_seq, client.state]);

  // Scrolling: stay at the bottom as messages arrive; keep the place when older ones load above.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (prevHeight.current && el.scrollTop < 50 && !atBottom.current) el.scrollTop += el.scrollHeight - prevHeight.current;
    else if (atBottom.current) el.scrollTop = el.scrollHeight;
    prevHeight.current = el.scrollHeight;
  });
  const onScroll = () => {
    const el = scroller.current;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 40) {
      prevHeight.current = el.scrollHeight;
      client.loadOlder(conv).catch(() => {});
    }
  };

  if (!c) return <div class="empty pane">{error || 'Loading…'}</div>;
  const peer = client.peerOf(conv);
  const typing = client.typingIn(conv);
  const peerRead = client.peerRead.get(conv) || 0;
  const presence = peer && client.presence.get(peer);
  return (
    <section class="convview" aria-label={'Conversation ' + client.convName(c)}>
      <header>
        <a class="back button" href="#/chats" aria-label="Back to chats">‹</a>
        <div class="title">
          <h2>{client.convName(c)}</h2>
          <div class="sub" aria-live="polite">
            {typing.length > 0 ? <span class="typing">{typing.map((u) => client.name(u)).join(', ')} {typing.length > 1 ? 'are' : 'is'} typing…</span> :
              c.kind === 'group' ? c.member_count + ' members' : presence ? (presence.online ? 'online' : 'offline') : ''}
          </div>
        </div>
        <button onClick={() => client.calls.invite(conv, 'audio')} disabled={!!client.calls.call} aria-label="Voice call">Call</button>
        <button onClick={() => client.calls.invite(conv, 'video')} disabled={!!client.calls.call} aria-label="Video call">Video</button>
        {c.kind === 'group' && <button onClick={() => setPanel(!panel)} aria-expanded={panel}>Members</button>}
      </header>
      {panel && <GroupPanel client={client} conv={c} onClose={() => setPanel(false)} />}
      <div class="messages" ref={scroller} onScroll={onScroll} role="log" aria-live="polite">
        {client.older.get(conv) && <div class="older">Scroll up for older messages</div>}
        {held.map((m) => <Message key={m.seq} client={client} m={m} read={c.kind === 'direct' && m.from === client.me.user && m.seq <= peerRead} />)}
        {waiting.map((o) => <Pending key={o.client_msg_id} client={client} o={o} />)}
      </div>
      <Composer client={client} conv={conv} />
    </section>
  );
}

function Message({ client, m, read }) {
  const mine = m.from === client.me.user;
  const [menu, setMenu] = useState('');
  if (m.type === 'system') return <div class="system" data-seq={m.seq}>{systemText(client, m.body)}</div>;
  const recall = async () => {
    try {
      await client.recall(m.conv, m.seq);
    } catch (e) {
      setMenu(e.message);
    }
  };
  return (
    <div class={'msg' + (mine ? ' mine' : '')} data-seq={m.seq}>
      {!mine && <div class="from">{client.name(m.from)}</div>}
      <div class="bubble">
        {m.recalled ? <em class="recalled">Message recalled</em> : <Body m={m} />}
      </div>
      <div class="meta">
        <span>{formatTime(m.ts)}</span>
        {mine && read && <span class="read">Read</span>}
        {mine && !m.recalled && <button class="link" onClick={recall}>Recall</button>}
        {menu && <span class="error">{menu}</span>}
      </div>
    </div>
  );
}

function Pending({ client, o }) {
  return (
    <div class="msg mine pending" data-client-msg-id={o.client_msg_id}>
      <div class="bubble"><Body m={o} /></div>
      <div class="meta">
        {o.state === 'failed' ? (
          <span class="error">Not sent: {o.error} <button class="link" onClick={() => client.retry(o)}>Retry</button> <button class="link" onClick={() => client.discard(o)}>Discard</button></span>
        ) : <span>{o.state === 'sending' ? 'Sending…' : 'Waiting for the connection…'}</span>}
      </div>
    </div>
  );
}

function Body({ m }) {
  const b = m.body || {};
  if (m.type === 'text') return <span class="text">{b.text}</span>;
  if (m.type === 'image') return <MediaImage id={b.media_id} width={b.width} height={b.height} />;
  if (m.type === 'voice') return <MediaAudio id={b.media_id} duration={b.duration_ms} />;
  if (m.type === 'file') return <MediaFile id={b.media_id} name={b.name} size={b.size} />;
  return <em>Unsupported message</em>;
}

function useMedia(id) {
  const [url, setUrl] = useState(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (!id) return;
    let live = true;
    mediaUrl(id).then((u) => live && setUrl(u), () => live && setFailed(true));
    return () => (live = false);
  }, [id]);
  return [url, failed];
}

function MediaImage({ id, width, height }) {
  const [url, failed] = useMedia(id);
  const w = Math.min(width || 240, 240);
  const h = width ? Math.round((height / width) * w) : 160;
  if (failed) return <em>Image unavailable</em>;
  return url ? <a href={url} target="_blank" rel="noopener"><img src={url} width={w} height={h} alt="Image" class="image" /></a> :
    <div class="image placeholder" style={{ width: w + 'px', height: h + 'px' }} />;
}

function MediaAudio({ id, duration }) {
  const [url, failed] = useMedia(id);
  if (failed) return <em>Voice message unavailable</em>;
  return <span class="voice">{url ? <audio controls src={url} /> : 'Voice message'} {duration ? Math.round(duration / 1000) + ' s' : ''}</span>;
}

function MediaFile({ id, name, size }) {
  const [url, setUrl] = useState(null);
  const open = async (e) => {
    if (url) return;
    e.preventDefault();
    const u = await mediaUrl(id);
    setUrl(u);
    const a = document.createElement('a');
    a.href = u;
    a.download = name || 'file';
    a.click();
  };
  return (
    <a class="file" href={url || '#'} download={name} onClick={open}>
      <svg class="icon" aria-hidden="true" viewBox="0 0 24 24" width="18" height="18"><path d="M6 2h8l5 5v15H6z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round" /><path d="M14 2v5h5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round" /></svg> <span class="fname">{name}</span> <span class="size">{formatBytes(size || 0)}</span>
    </a>
  );
}

function systemText(client, b) {
  const who = client.name(b.actor);
  const users = (b.users || []).map((u) => client.name(u)).join(', ');
  switch (b.event) {
    case 'members_added': return `${who} added ${users}`;
    case 'members_removed': return `${who} removed ${users}`;
    case 'left': return `${who} left`;
    case 'renamed': return `${who} renamed the group to “${b.name}”`;
    case 'call': return `${b.media === 'video' ? 'Video' : 'Voice'} call ${b.result === 'answered' || b.duration_ms ? Math.round((b.duration_ms || 0) / 1000) + ' s' : (b.result || '')}`;
    default: return b.event || 'System message';
  }
}

function Composer({ client, conv }) {
  const [text, setText] = useState('');
  const [progress, setProgress] = useState(null);
  const [error, setError] = useState('');
  const file = useRef(null);

  const send = (e) => {
    e && e.preventDefault();
    const t = text.trim();
    if (!t) return;
    if (new TextEncoder().encode(t).length > 8192) return setError('A message holds at most 8,192 bytes.');
    client.send(conv, 'text', { text: t });
    setText('');
    setError('');
  };
  const onKey = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) send(e);
  };
  const attach = async () => {
    const f = file.current.files[0];
    file.current.value = '';
    if (!f) return;
    setError('');
    setProgress(0);
    try {
      const r = await upload(f, setProgress);
      if (mediaType(f).startsWith('image/')) {
        const { width, height } = await imageSize(f);
        client.send(conv, 'image', { media_id: r.media_id, width, height });
      } else if (mediaType(f).startsWith('audio/')) {
        client.send(conv, 'voice', { media_id: r.media_id, duration_ms: await audioDuration(f) });
      } else {
        client.send(conv, 'file', { media_id: r.media_id, name: f.name, size: r.size });
      }
    } catch (err) {
      setError(err.message);
    } finally {
      setProgress(null);
    }
  };

  // Voice messages: recorded in a type the server takes (Ogg/Opus in Firefox, MP4 in Chromium).
  const [recording, setRecording] = useState(null);
  const voiceType = typeof MediaRecorder !== 'undefined' && ['audio/ogg;codecs=opus', 'audio/mp4'].find((t) => MediaRecorder.isTypeSupported(t));
  const record = async () => {
    if (recording) return recording.stop();
    setError('');
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const rec = new MediaRecorder(stream, { mimeType: voiceType });
      const chunks = [];
      const started = Date.now();
      rec.ondataavailable = (e) => e.data.size && chunks.push(e.data);
      rec.onstop = async () => {
        stream.getTracks().forEach((t) => t.stop());
        setRecording(null);
        const type = voiceType.split(';')[0];
        const f = new File(chunks, 'voice.' + (type === 'audio/ogg' ? 'ogg' : 'm4a'), { type });
        setProgress(0);
        try {
          const r = await upload(f, setProgress);
          client.send(conv, 'voice', { media_id: r.media_id, duration_ms: Math.max(1, Date.now() - started) });
        } catch (err) {
          setError(err.message);
        } finally {
          setProgress(null);
        }
      };
      rec.start();
      setRecording(rec);
    } catch (err) {
      setError('Cannot record: ' + err.message);
    }
  };

  return (
    <form class="composer" onSubmit={send}>
      <label class="button attach" title="Attach an image or a file">
        <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"><path d="M20 11.5l-8.2 8.2a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" /></svg><span class="sr">Attach a file</span>
        <input type="file" ref={file} onChange={attach} hidden />
      </label>
      {voiceType && (
        <button type="button" class={'voice-rec' + (recording ? ' on' : '')} onClick={record} aria-pressed={!!recording}>
          {recording ? 'Stop and send' : (
            <>
              <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"><rect x="9" y="3" width="6" height="11" rx="3" fill="none" stroke="currentColor" stroke-width="1.8" /><path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" /></svg>
              <span class="sr">Record voice</span>
            </>
          )}
        </button>
      )}
      <textarea
        rows="1"
        placeholder="Write a message"
        aria-label="Message"
        value={text}
        onInput={(e) => {
          setText(e.target.value);
          if (e.target.value) client.typingNow(conv);
        }}
        onKeyDown={onKey}
      />
      <button type="submit" class="primary" disabled={!text.trim()}>Send</button>
      {progress !== null && <progress class="upload" value={progress} max="1" aria-label="Upload progress" />}
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}

function imageSize(f) {
  return new Promise((resolve) => {
    const img = new Image();
    const url = URL.createObjectURL(f);
    img.onload = () => {
      resolve({ width: img.naturalWidth || 1, height: img.naturalHeight || 1 });
      URL.revokeObjectURL(url);
    };
    img.onerror = () => resolve({ width: 1, height: 1 });
    img.src = url;
  });
}

function audioDuration(f) {
  return new Promise((resolve) => {
    const a = new Audio();
    const url = URL.createObjectURL(f);
    a.onloadedmetadata = () => {
      resolve(Number.isFinite(a.duration) ? Math.round(a.duration * 1000) : 1000);
      URL.revokeObjectURL(url);
    };
    a.onerror = () => resolve(1000);
    a.src = url;
  });
}

export { go };
