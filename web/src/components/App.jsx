import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, apiAll, loadSession, saveSession, setToken } from '../api.js';
import { ChatClient } from '../client.js';
import { Admin } from './Admin.jsx';
import { CallBar } from './CallBar.jsx';
import { Chat } from './Chat.jsx';
import { Directory } from './Directory.jsx';
import { go, useClient, useRoute } from './hooks.js';
import { Login } from './Login.jsx';
import { Notices } from './Notices.jsx';

export function App() {
  const [session, setSession] = useState(loadSession);
  const [notice, setNotice] = useState('');
  setToken(session ? session.token : null);

  const signIn = (s) => {
    saveSession(s);
    setNotice('');
    setSession(s);
    if (!location.hash || location.hash === '#/') go('chats');
  };
  const signOut = (why) => {
    saveSession(null);
    setNotice(why || '');
    setSession(null);
  };

  if (!session) return <Login onSignedIn={signIn} notice={notice} />;
  return <Shell key={session.token} session={session} onSignOut={signOut} />;
}

function Shell({ session, onSignOut }) {
  const client = useMemo(() => new ChatClient(session, { onSignedOut: onSignOut }), [session]);
  useClient(client);
  const route = useRoute();
  const me = client.me;
  const admin = me.role === 'admin' || me.role === 'owner';

  useEffect(() => () => client.close(), [client]);
  // The directory gives names to the ids messages carry.
  useEffect(() => {
    apiAll('/v1/directory/users').then((users) => {
      for (const u of users) client.users.set(u.user, u);
      client.changed();
    }).catch(() => {});
  }, [client]);

  const logout = async () => {
    try {
      await api('POST', '/v1/auth/logout');
    } catch {
      /* signed out here either way */
    }
    client.close();
    onSignOut('');
  };

  const section = route[0] || 'chats';
  const unread = [...client.convs.values()].reduce((n, c) => n + (c.unread || 0), 0);
  return (
    <div class="shell">
      <nav class="rail" aria-label="Sections">
        <div class="brand" title="Switchboard">SB</div>
        <a href="#/chats" class={section === 'chats' ? 'on' : ''} aria-current={section === 'chats' ? 'page' : undefined}>
          Chats{unread > 0 && <span class="badge" aria-label={unread + ' unread'}>{unread}</span>}
        </a>
        <a href="#/directory" class={section === 'directory' ? 'on' : ''}>Directory</a>
        <a href="#/notices" class={section === 'notices' ? 'on' : ''}>
          Notices{client.unseenNotices > 0 && <span class="badge" aria-label={client.unseenNotices + ' new'}>{client.unseenNotices}</span>}
        </a>
        {admin && <a href="#/admin" class={section === 'admin' ? 'on' : ''}>Console</a>}
        <div class="grow" />
        <div class={'conn ' + client.state} role="status" title={'Connection: ' + client.state}>
          {{ online: 'Online', connecting: 'Connecting…', offline: 'Offline', replaced: 'Open in another tab' }[client.state]}
        </div>
        {client.state === 'replaced' && <button class="link" onClick={() => client.reconnectNow()}>Use here</button>}
        <div class="me" title={me.mobile}>{me.name}</div>
        <button class="link" onClick={logout}>Sign out</button>
      </nav>
      <main class="main">
        <CallBar client={client} />
        {section === 'chats' && <Chat client={client} conv={route[1]} />}
        {section === 'directory' && <Directory client={client} />}
        {section === 'notices' && <Notices client={client} />}
        {section === 'admin' && (admin ? <Admin client={client} page={route[1] || 'members'} /> :
          <div class="empty" role="alert">The console is for the organization's administrators.</div>)}
      </main>
    </div>
  );
}
