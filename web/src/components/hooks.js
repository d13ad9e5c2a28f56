import { useEffect, useState } from 'preact/hooks';

// Re-renders the component whenever the client's state changes.
export function useClient(client) {
  const [, setVersion] = useState(0);
  useEffect(() => client && client.subscribe((v) => setVersion(v)), [client]);
  return client;
}

// The location hash as a route: "#/chats/12" -> ["chats", "12"].
export function useRoute() {
  const parse = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function go(path) {
  location.hash = '#/' + path;
}

export function formatTime(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

export function formatBytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}
