import { useEffect, useRef } from 'preact/hooks';

// Calls on every screen: a ringing call to accept or reject, the call in progress with its
// media and a hang-up, and how the last one ended.
export function CallBar({ client }) {
  const calls = client.calls;
  const ringing = [...calls.ringing.values()];
  const c = calls.call;
  if (!c && ringing.length === 0 && !calls.ended && !calls.error) return null;
  const convName = (id) => client.convName(client.convs.get(id)) || 'a conversation';
  return (
    <div class="callbar" role="region" aria-label="Calls">
      {ringing.map((r) => (
        <div key={r.call} class="ringing" role="alertdialog" aria-label={'Incoming call from ' + client.name(r.initiator)}>
          <span>Incoming {r.media === 'video' ? 'video' : 'voice'} call from <strong>{client.name(r.initiator)}</strong>
            {client.convs.get(r.conv)?.kind === 'group' ? ' in ' + convName(r.conv) : ''}</span>
          <button class="primary" onClick={() => calls.accept(r.call)}>Accept</button>
          <button class="danger" onClick={() => calls.reject(r.call)}>Reject</button>
        </div>
      ))}
      {c && (
        <div class="incall" data-state={c.state}>
          <span>{c.state === 'ringing' ? 'Calling' : 'In call'}: {convName(c.conv)}</span>
          {[...calls.peers].map(([session, p]) => (
            <span key={session} class="peer" data-peer-state={p.state}>
              {p.state === 'connected' ? 'connected' : p.state}
              <Media stream={p.stream} video={c.media === 'video'} />
            </span>
          ))}
          {c.media === 'video' && calls.local && <Media stream={calls.local} video muted />}
          <button class="danger" onClick={() => calls.hangup()}>Hang up</button>
        </div>
      )}
      {!c && calls.ended && (
        <div class="ended" role="status">
          Call ended ({calls.ended.reason}{calls.ended.duration_ms ? ', ' + Math.round(calls.ended.duration_ms / 1000) + ' s' : ''})
          <button class="link" onClick={() => { calls.ended = null; client.changed(); }}>Dismiss</button>
        </div>
      )}
      {calls.error && (
        <div class="error" role="alert">{calls.error} <button class="link" onClick={() => { calls.error = ''; client.changed(); }}>Dismiss</button></div>
      )}
    </div>
  );
}

function Media({ stream, video, muted }) {
  const ref = useRef(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream;
  });
  return video ? <video ref={ref} autoplay playsinline muted={muted} class="video" /> : <audio ref={ref} autoplay />;
}
