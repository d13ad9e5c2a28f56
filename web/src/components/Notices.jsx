import { useEffect, useState } from 'preact/hooks';
import { apiAll } from '../api.js';

// The organization's announcements (GET /v1/notices), with those arriving live (`notice` events).
export function Notices({ client }) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    apiAll('/v1/notices', 200).then(setItems, (e) => setError(e.message));
    client.unseenNotices = 0;
    client.changed();
  }, []);
  const seen = new Set((items || []).map((n) => n.notice_id));
  const all = [...client.notices.filter((n) => !seen.has(n.notice_id)), ...(items || [])];
  return (
    <section class="notices-page" aria-labelledby="notices-title">
      <h2 id="notices-title">Announcements</h2>
      {error && <p class="error" role="alert">{error}</p>}
      {items && all.length === 0 && <p class="empty">No announcements yet.</p>}
      <NoticeList notices={all} />
    </section>
  );
}

export function NoticeList({ notices }) {
  return (
    <ul class="notices">
      {notices.map((n) => (
        <li key={n.notice_id}>
          <strong>{n.title}</strong> <span class="when">{new Date(n.ts).toLocaleString()}</span>
          <p>{n.body}</p>
        </li>
      ))}
    </ul>
  );
}
