import { useEffect, useState } from 'preact/hooks';
import { api, apiAll } from '../api.js';
import { go } from './hooks.js';

// The directory: the department tree and the people the caller may see; start a direct chat, or
// pick several people for a group.
export function Directory({ client }) {
  const [departments, setDepartments] = useState([]);
  const [dept, setDept] = useState('');
  const [q, setQ] = useState('');
  const [users, setUsers] = useState([]);
  const [picked, setPicked] = useState(new Set());
  const [groupName, setGroupName] = useState('');
  const [error, setError] = useState('');

  useEffect(() => {
    api('GET', '/v1/directory/departments').then((r) => setDepartments(r.departments)).catch((e) => setError(e.message));
  }, []);
  useEffect(() => {
    const t = setTimeout(() => {
      const qs = new URLSearchParams();
      if (q.trim()) qs.set('q', q.trim());
      if (dept) qs.set('department', dept);
      apiAll('/v1/directory/users?' + qs.toString(), 1000).then(setUsers).catch((e) => setError(e.message));
    }, 150);
    return () => clearTimeout(t);
  }, [q, dept]);

  const message = async (user) => {
    setError('');
    try {
      const r = await client.request('open_direct', { user });
      client.convs.set(r.conv.conv, { ...client.convs.get(r.conv.conv), ...r.conv });
      client.changed();
      go('chats/' + r.conv.conv);
    } catch (e) {
      setError(e.message);
    }
  };
  const toggle = (u) => {
    const s = new Set(picked);
    s.has(u) ? s.delete(u) : s.add(u);
    setPicked(s);
  };
  const createGroup = async (e) => {
    e.preventDefault();
    setError('');
    try {
      const r = await client.request('create_group', { name: groupName.trim(), members: [...picked] });
      client.convs.set(r.conv.conv, r.conv);
      client.changed();
      go('chats/' + r.conv.conv);
    } catch (err) {
      setError(err.message);
    }
  };

  return (
    <div class="directory">
      <aside class="tree" aria-label="Departments">
        <h2>Departments</h2>
        <button class={'link' + (dept === '' ? ' on' : '')} onClick={() => setDept('')}>Everyone</button>
        <Tree departments={departments} parent={null} dept={dept} setDept={setDept} />
      </aside>
      <section class="people" aria-label="People">
        <header class="row">
          <input type="search" placeholder="Search by name or number" aria-label="Search people" value={q} onInput={(e) => setQ(e.target.value)} class="grow" />
        </header>
        {error && <p class="error" role="alert">{error}</p>}
        {picked.size > 0 && (
          <form class="row group-form" onSubmit={createGroup}>
            <label class="grow">New group with {picked.size} {picked.size === 1 ? 'person' : 'people'}
              <input value={groupName} onInput={(e) => setGroupName(e.target.value)} placeholder="Group name" required maxLength={200} />
            </label>
            <button type="submit" class="primary">Create group</button>
          </form>
        )}
        <table class="list">
          <thead><tr><th scope="col"><span class="sr">Pick</span></th><th scope="col">Name</th><th scope="col">Title</th><th scope="col">Mobile</th><th /></tr></thead>
          <tbody>
            {users.filter((u) => u.user !== client.me.user).map((u) => (
              <tr key={u.user} data-user={u.user}>
                <td><input type="checkbox" aria-label={'Pick ' + u.name} checked={picked.has(u.user)} onChange={() => toggle(u.user)} /></td>
                <td>{u.name}</td>
                <td>{u.title || ''}</td>
                <td>{u.mobile || ''}</td>
                <td><button onClick={() => message(u.user)}>Message</button></td>
              </tr>
            ))}
          </tbody>
        </table>
        {users.length === 0 && <p class="empty">Nobody matches.</p>}
      </section>
    </div>
  );
}

function Tree({ departments, parent, dept, setDept }) {
  const children = departments.filter((d) => d.parent === parent).sort((a, b) => a.sort - b.sort || a.name.localeCompare(b.name));
  if (children.length === 0) return null;
  return (
    <ul>
      {children.map((d) => (
        <li key={d.department}>
          <button class={'link' + (dept === d.department ? ' on' : '')} onClick={() => setDept(d.department)}>{d.name}</button>
          <Tree departments={departments} parent={d.department} dept={dept} setDept={setDept} />
        </li>
      ))}
    </ul>
  );
}
