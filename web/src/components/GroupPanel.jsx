import { useState } from 'preact/hooks';
import { go } from './hooks.js';

// A group's members: rename, add, remove, leave (conv_info, rename, add_members, remove_members, leave).
export function GroupPanel({ client, conv, onClose }) {
  const [name, setName] = useState(conv.name);
  const [adding, setAdding] = useState('');
  const [error, setError] = useState('');
  const members = client.members.get(conv.conv) || [];
  const run = async (op, data) => {
    setError('');
    try {
      await client.request(op, data);
      await client.loadMembers(conv.conv);
    } catch (e) {
      setError(e.message);
    }
  };
  const candidates = [...client.users.values()].filter((u) => !members.includes(u.user) && u.status !== 'removed');
  return (
    <div class="panel" role="dialog" aria-label="Group members">
      <form class="row" onSubmit={(e) => (e.preventDefault(), run('rename', { conv: conv.conv, name: name.trim() }))}>
        <label class="grow">Group name<input value={name} onInput={(e) => setName(e.target.value)} required maxLength={200} /></label>
        <button type="submit">Rename</button>
      </form>
      <ul class="members">
        {members.map((u) => (
          <li key={u}>
            <span>{client.name(u)}{u === conv.owner ? ' (owner)' : ''}</span>
            {u !== client.me.user && <button class="link" onClick={() => run('remove_members', { conv: conv.conv, users: [u] })}>Remove</button>}
          </li>
        ))}
      </ul>
      <form class="row" onSubmit={(e) => (e.preventDefault(), adding && run('add_members', { conv: conv.conv, users: [adding] }).then(() => setAdding('')))}>
        <label class="grow">Add a member
          <select value={adding} onChange={(e) => setAdding(e.target.value)}>
            <option value="">Choose…</option>
            {candidates.map((u) => <option key={u.user} value={u.user}>{u.name}</option>)}
          </select>
        </label>
        <button type="submit" disabled={!adding}>Add</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="row">
        <button class="danger" onClick={async () => { await run('leave', { conv: conv.conv }); client.convs.delete(conv.conv); client.changed(); go('chats'); }}>Leave group</button>
        <button onClick={onClose}>Close</button>
      </div>
    </div>
  );
}
