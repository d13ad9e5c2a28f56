import { useEffect, useState } from 'preact/hooks';
import { api, apiAll, currentToken } from '../api.js';
import { formatBytes } from './hooks.js';
import { NoticeList } from './Notices.jsx';

// The console for owners and admins: every page speaks the HTTP API of PROTOCOL.md.
const PAGES = [
  ['members', 'Members'],
  ['import', 'Import'],
  ['departments', 'Departments'],
  ['invitations', 'Invitations'],
  ['policy', 'Policy'],
  ['apps', 'Apps'],
  ['announcements', 'Announcements'],
  ['reports', 'Reports'],
  ['calls', 'Calls'],
  ['exports', 'Exports'],
  ['audit', 'Audit log'],
  ['usage', 'Usage'],
  ['organization', 'Organization'],
];

export function Admin({ client, page }) {
  return (
    <div class="admin">
      <nav class="tabs" aria-label="Console">
        {PAGES.map(([id, label]) => (
          <a key={id} href={'#/admin/' + id} class={page === id ? 'on' : ''} aria-current={page === id ? 'page' : undefined}>{label}</a>
        ))}
      </nav>
      <div class="page">
        {page === 'members' && <Members client={client} />}
        {page === 'import' && <Import />}
        {page === 'departments' && <Departments />}
        {page === 'invitations' && <Invitations />}
        {page === 'policy' && <Policy />}
        {page === 'apps' && <Apps />}
        {page === 'audit' && <Audit />}
        {page === 'usage' && <Usage />}
        {page === 'announcements' && <Announcements />}
        {page === 'reports' && <Reports client={client} />}
        {page === 'calls' && <Calls client={client} />}
        {page === 'exports' && <Exports />}
        {page === 'organization' && <Organization client={client} />}
      </div>
    </div>
  );
}

function useLoad(fn, deps = []) {
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    fn().then((d) => live && (setData(d), setError('')), (e) => live && setError(e.message));
    return () => (live = false);
  }, [...deps, tick]);
  return [data, error, () => setTick(tick + 1)];
}

// An action's runner: clears the last error, runs `fn`, reloads the page's data, keeps the error.
function useAction(reload) {
  const [err, setErr] = useState('');
  const act = async (fn) => {
    setErr('');
    try {
      await fn();
      reload();
    } catch (e) {
      setErr(e.message);
    }
  };
  return [err, act];
}

function Members({ client }) {
  const [q, setQ] = useState('');
  const [users, error, reload] = useLoad(() => apiAll('/v1/directory/users' + (q.trim() ? '?q=' + encodeURIComponent(q.trim()) : ''), 2000), [q]);
  const [form, setForm] = useState({ name: '', mobile: '', password: '', title: '', role: 'member' });
  const [editing, setEditing] = useState(null);
  const [msg, setMsg] = useState('');
  const [err, setErr] = useState('');

  const act = async (label, fn) => {
    setMsg('');
    setErr('');
    try {
      await fn();
      setMsg(label);
      reload();
    } catch (e) {
      setErr(e.message);
    }
  };
  const create = (e) => {
    e.preventDefault();
    const body = { name: form.name.trim(), mobile: form.mobile.trim(), role: form.role };
    if (form.password) body.password = form.password;
    if (form.title.trim()) body.title = form.title.trim();
    act('Created ' + body.name, async () => {
      const u = await api('POST', '/v1/admin/users', body);
      client.users.set(u.user, u);
      setForm({ name: '', mobile: '', password: '', title: '', role: 'member' });
    });
  };
  return (
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <form class="card inline" onSubmit={create} aria-label="Create a member">
        <input placeholder="Name" aria-label="Name" value={form.name} onInput={(e) => setForm({ ...form, name: e.target.value })} required />
        <input placeholder="+8613800000000" aria-label="Mobile" value={form.mobile} onInput={(e) => setForm({ ...form, mobile: e.target.value })} required />
        <input placeholder="Password (optional)" aria-label="Password" type="password" value={form.password} onInput={(e) => setForm({ ...form, password: e.target.value })} autoComplete="new-password" />
        <input placeholder="Title" aria-label="Title" value={form.title} onInput={(e) => setForm({ ...form, title: e.target.value })} />
        <select aria-label="Role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
          <option value="member">member</option>
          <option value="admin">admin</option>
        </select>
        <button type="submit" class="primary">Create member</button>
      </form>
      {msg && <p class="info" role="status">{msg}</p>}
      {(err || error) && <p class="error" role="alert">{err || error}</p>}
      <input type="search" placeholder="Search by name or number" aria-label="Search members" value={q} onInput={(e) => setQ(e.target.value)} />
      <table class="list">
        <thead><tr><th scope="col">Name</th><th scope="col">Mobile</th><th scope="col">Title</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          {(users || []).map((u) => (
            <tr key={u.user} data-user={u.user} data-mobile={u.mobile}>
              <td>{u.name}</td>
              <td>{u.mobile}</td>
              <td>{u.title}</td>
              <td>{u.role}</td>
              <td class={'status ' + (u.status || 'active')}>{u.status || 'active'}</td>
              <td><div class="actions">
                {u.role !== 'owner' && u.user !== client.me.user && (
                  <>
                    {u.status === 'suspended' ? (
                      <button onClick={() => act('Restored ' + u.name, () => api('POST', `/v1/admin/users/${u.user}/restore`, {}))}>Restore</button>
                    ) : (
                      <button onClick={() => {
                        const reason = prompt('Why is ' + u.name + ' suspended?', '');
                        if (reason !== null) act('Suspended ' + u.name, () => api('POST', `/v1/admin/users/${u.user}/suspend`, { reason }));
                      }}>Suspend</button>
                    )}
                    <button onClick={() => setEditing(u)}>Edit</button>
                    <button class="danger" onClick={() => confirm('Remove ' + u.name + '?') && act('Removed ' + u.name, () => api('DELETE', `/v1/admin/users/${u.user}`))}>Remove</button>
                  </>
                )}
              </div></td>
            </tr>
          ))}
        </tbody>
      </table>
      {editing && <EditMember user={editing} onDone={(label) => { setEditing(null); if (label) { setMsg(label); reload(); } }} />}
    </section>
  );
}

function EditMember({ user, onDone }) {
  const [name, setName] = useState(user.name);
  const [title, setTitle] = useState(user.title || '');
  const [role, setRole] = useState(user.role);
  const [features, setFeatures] = useState(new Set(user.restrictions || []));
  const [err, setErr] = useState('');
  const save = async (e) => {
    e.preventDefault();
    try {
      await api('PATCH', '/v1/admin/users/' + user.user, { name: name.trim(), title: title.trim(), role });
      await api('POST', `/v1/admin/users/${user.user}/restrict`, { features: [...features] });
      onDone('Saved ' + name.trim());
    } catch (e2) {
      setErr(e2.message);
    }
  };
  const flip = (f) => {
    const s = new Set(features);
    s.has(f) ? s.delete(f) : s.add(f);
    setFeatures(s);
  };
  return (
    <form class="card panel" onSubmit={save} role="dialog" aria-label={'Edit ' + user.name}>
      <h3>Edit {user.name}</h3>
      <label>Name<input value={name} onInput={(e) => setName(e.target.value)} required /></label>
      <label>Title<input value={title} onInput={(e) => setTitle(e.target.value)} /></label>
      <label>Role<select value={role} onChange={(e) => setRole(e.target.value)}><option value="member">member</option><option value="admin">admin</option></select></label>
      <fieldset>
        <legend>Restricted features</legend>
        {['send', 'call', 'create_group'].map((f) => (
          <label key={f} class="check"><input type="checkbox" checked={features.has(f)} onChange={() => flip(f)} /> {f}</label>
        ))}
      </fieldset>
      {err && <p class="error" role="alert">{err}</p>}
      <div class="row"><button type="submit" class="primary">Save</button><button type="button" onClick={() => onDone('')}>Cancel</button></div>
    </form>
  );
}

function Import() {
  const [text, setText] = useState('name,mobile,department,title\n');
  const [report, setReport] = useState(null);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState('');
  const run = async (e) => {
    e.preventDefault();
    setBusy(true);
    setErr('');
    setReport(null);
    try {
      setReport(await api('POST', '/v1/admin/users/import', text, { headers: { 'Content-Type': 'text/csv' } }));
    } catch (e2) {
      setErr(e2.message);
    } finally {
      setBusy(false);
    }
  };
  const fromFile = async (e) => {
    const f = e.target.files[0];
    if (f) setText(await f.text());
  };
  return (
    <section aria-labelledby="import-title">
      <h2 id="import-title">Import members</h2>
      <p>A CSV with the header <code>name,mobile,department,title</code>; departments are paths such as <code>Sales/East</code> and are created when missing. A bad row never stops the good ones.</p>
      <form onSubmit={run}>
        <label>CSV file<input type="file" accept=".csv,text/csv" onChange={fromFile} /></label>
        <label>Rows<textarea class="csv" rows="10" value={text} onInput={(e) => setText(e.target.value)} aria-label="CSV rows" /></label>
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Importing…' : 'Import'}</button>
      </form>
      {err && <p class="error" role="alert">{err}</p>}
      {report && (
        <div class="report" role="status">
          <p class="summary"><strong>{report.created}</strong> created, <strong>{report.updated}</strong> updated, <strong>{report.failed}</strong> failed</p>
          <table class="list">
            <thead><tr><th scope="col">Row</th><th scope="col">Result</th><th scope="col">Detail</th></tr></thead>
            <tbody>
              {report.results.map((r) => (
                <tr key={r.row} class={r.status} data-row={r.row}>
                  <td>{r.row}</td>
                  <td>{r.status}</td>
                  <td>{r.error ? r.error.message : 'user ' + r.user}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Departments() {
  const [data, error, reload] = useLoad(() => api('GET', '/v1/directory/departments'));
  const [name, setName] = useState('');
  const [parent, setParent] = useState('');
  const [err, act] = useAction(reload);
  const depts = data ? data.departments : [];
  const pathOf = (d) => {
    const parts = [];
    for (let x = d, i = 0; x && i < 50; x = depts.find((p) => p.department === x.parent), i++) parts.unshift(x.name);
    return parts.join(' / ');
  };
  const sorted = [...depts].sort((a, b) => pathOf(a).localeCompare(pathOf(b)));
  return (
    <section aria-labelledby="dept-title">
      <h2 id="dept-title">Departments</h2>
      <form class="card inline" onSubmit={(e) => (e.preventDefault(), act(async () => { await api('POST', '/v1/admin/departments', { name: name.trim(), parent: parent || null }); setName(''); }))}>
        <input placeholder="Name" aria-label="Department name" value={name} onInput={(e) => setName(e.target.value)} required />
        <select aria-label="Parent" value={parent} onChange={(e) => setParent(e.target.value)}>
          <option value="">(top level)</option>
          {sorted.map((d) => <option key={d.department} value={d.department}>{pathOf(d)}</option>)}
        </select>
        <button type="submit" class="primary">Create department</button>
      </form>
      {(err || error) && <p class="error" role="alert">{err || error}</p>}
      <table class="list">
        <thead><tr><th scope="col">Department</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          {sorted.map((d) => (
            <tr key={d.department}>
              <td>{pathOf(d)}</td>
              <td><div class="actions">
                <button onClick={() => { const n = prompt('New name', d.name); if (n) act(() => api('PATCH', '/v1/admin/departments/' + d.department, { name: n.trim() })); }}>Rename</button>
                <select aria-label={'Move ' + d.name} value="" onChange={(e) => e.target.value && act(() => api('PATCH', '/v1/admin/departments/' + d.department, { parent: e.target.value === 'root' ? null : e.target.value }))}>
                  <option value="">Move under…</option>
                  <option value="root">(top level)</option>
                  {sorted.filter((p) => p.department !== d.department).map((p) => <option key={p.department} value={p.department}>{pathOf(p)}</option>)}
                </select>
                <button class="danger" onClick={() => confirm('Delete ' + d.name + '? Its members and sub-departments move to its parent.') && act(() => api('DELETE', '/v1/admin/departments/' + d.department + '?cascade=move_to_parent'))}>Delete</button>
              </div></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Invitations() {
  const [list, error, reload] = useLoad(() => apiAll('/v1/admin/invitations', 500));
  const [mobile, setMobile] = useState('');
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [err, act] = useAction(reload);
  const invite = (e) => {
    e.preventDefault();
    act(async () => {
      const r = await api('POST', '/v1/admin/invitations', { mobile: mobile.trim(), name: name.trim(), departments: [] });
      setCode(r.code);
      setMobile('');
      setName('');
    });
  };
  return (
    <section aria-labelledby="inv-title">
      <h2 id="inv-title">Invitations</h2>
      <form class="card inline" onSubmit={invite}>
        <input placeholder="Name" aria-label="Name" value={name} onInput={(e) => setName(e.target.value)} required />
        <input placeholder="+8613800000000" aria-label="Mobile" value={mobile} onInput={(e) => setMobile(e.target.value)} required />
        <button type="submit" class="primary">Invite</button>
      </form>
      {code && <p class="info" role="status">Invitation code (shown once; the invitee confirms it with an SMS code): <code class="secret">{code}</code></p>}
      {(err || error) && <p class="error" role="alert">{err || error}</p>}
      <table class="list">
        <thead><tr><th scope="col">Name</th><th scope="col">Mobile</th><th scope="col">Status</th><th /></tr></thead>
        <tbody>
          {(list || []).map((i) => (
            <tr key={i.invitation}>
              <td>{i.name}</td><td>{i.mobile}</td><td>{i.status}</td>
              <td>{i.status === 'pending' && <button onClick={() => act(() => api('DELETE', '/v1/admin/invitations/' + i.invitation))}>Revoke</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const POLICY_FIELDS = [
  ['directory_visibility', 'Directory visibility', 'text'],
  ['retention_days', 'Retention (days, empty: forever)', 'number'],
  ['recall_window_s', 'Recall window (seconds)', 'number'],
  ['min_client_version', 'Minimum client version', 'text'],
  ['storage_quota_mb', 'Storage quota (MB, empty: none)', 'number'],
  ['reclaim_inactive_days', 'Reclaim media unused for (days, empty: never)', 'number'],
];

function Policy() {
  const [policy, error, reload] = useLoad(() => api('GET', '/v1/admin/policy'));
  const [draft, setDraft] = useState(null);
  const [msg, setMsg] = useState('');
  const [err, setErr] = useState('');
  const p = draft || policy;
  // Only the keys changed are sent (PUT changes only the keys given): custom visibility rules,
  // set through the API, stay as they are.
  const save = async (e) => {
    e.preventDefault();
    setErr('');
    try {
      const body = {};
      for (const [k, , type] of POLICY_FIELDS) {
        const v = p[k];
        const value = type === 'number' ? (v === '' || v === null || v === undefined ? null : Number(v)) : v;
        if (value !== policy[k]) body[k] = value;
      }
      await api('PUT', '/v1/admin/policy', body);
      setDraft(null);
      setMsg('Policy saved');
      reload();
    } catch (e2) {
      setErr(e2.message);
    }
  };
  if (!p) return <p class={error ? 'error' : 'empty'}>{error || 'Loading…'}</p>;
  return (
    <form class="card" onSubmit={save} aria-labelledby="policy-title">
      <h2 id="policy-title">Policy</h2>
      {POLICY_FIELDS.map(([k, label, type]) => (
        <label key={k}>{label}
          {k === 'directory_visibility' ? (
            <select value={p[k]} onChange={(e) => setDraft({ ...p, [k]: e.target.value })}>
              <option value="all">all: everyone sees everyone</option>
              <option value="department">department: their departments and the people they talk to</option>
              {policy.directory_visibility === 'custom' && <option value="custom">custom (rules set through the API)</option>}
            </select>
          ) : (
            <input type={type} value={p[k] === null || p[k] === undefined ? '' : p[k]} onInput={(e) => setDraft({ ...p, [k]: e.target.value })} />
          )}
        </label>
      ))}
      {msg && <p class="info" role="status">{msg}</p>}
      {err && <p class="error" role="alert">{err}</p>}
      <button type="submit" class="primary">Save policy</button>
    </form>
  );
}

function Apps() {
  const [list, error, reload] = useLoad(() => api('GET', '/v1/admin/apps'));
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState(new Set(['messages:send']));
  const [secret, setSecret] = useState('');
  const [err, act] = useAction(reload);
  const all = ['contacts:read', 'contacts:write', 'messages:send', 'events'];
  const apps = list ? list.items : [];
  return (
    <section aria-labelledby="apps-title">
      <h2 id="apps-title">Apps</h2>
      <form class="card inline" onSubmit={(e) => (e.preventDefault(), act(async () => { const r = await api('POST', '/v1/admin/apps', { name: name.trim(), scopes: [...scopes] }); setSecret(r.app + ': ' + r.secret); setName(''); }))}>
        <input placeholder="App name" aria-label="App name" value={name} onInput={(e) => setName(e.target.value)} required />
        {all.map((s) => (
          <label key={s} class="check"><input type="checkbox" checked={scopes.has(s)} onChange={() => { const n = new Set(scopes); n.has(s) ? n.delete(s) : n.add(s); setScopes(n); }} /> {s}</label>
        ))}
        <button type="submit" class="primary">Create app</button>
      </form>
      {secret && <p class="info" role="status">Secret (shown once): <code class="secret">{secret}</code></p>}
      {(err || error) && <p class="error" role="alert">{err || error}</p>}
      <table class="list">
        <thead><tr><th scope="col">App</th><th scope="col">Scopes</th><th scope="col">Callback</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          {apps.map((a) => (
            <tr key={a.app}>
              <td>{a.name}</td>
              <td>{(a.scopes || []).join(', ')}</td>
              <td>{a.callback_url || ''}</td>
              <td><div class="actions">
                <button onClick={() => act(async () => { const r = await api('POST', `/v1/admin/apps/${a.app}/rotate`, {}); setSecret(a.app + ': ' + r.secret); })}>Rotate secret</button>
                <button onClick={() => { const url = prompt('Callback URL', a.callback_url || 'https://'); if (url) act(() => api('PUT', `/v1/admin/apps/${a.app}/callback`, { url })); }}>Callback URL</button>
                <button class="danger" onClick={() => confirm('Delete ' + a.name + '?') && act(() => api('DELETE', '/v1/admin/apps/' + a.app))}>Delete</button>
              </div></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Audit() {
  const [items, error] = useLoad(() => apiAll('/v1/admin/audit', 1000));
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      {error && <p class="error" role="alert">{error}</p>}
      <table class="list">
        <thead><tr><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Summary</th><th scope="col">IP</th></tr></thead>
        <tbody>
          {(items || []).map((a) => (
            <tr key={a.id}><td>{new Date(a.ts).toLocaleString()}</td><td>{a.actor}</td><td>{a.action}</td><td>{a.summary}</td><td>{a.ip}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Usage() {
  const [u, error] = useLoad(() => api('GET', '/v1/admin/usage'));
  if (!u) return <p class={error ? 'error' : 'empty'}>{error || 'Loading…'}</p>;
  const quota = u.storage_quota_bytes;
  return (
    <section aria-labelledby="usage-title">
      <h2 id="usage-title">Usage</h2>
      <dl class="stats">
        <div><dt>Members</dt><dd>{u.members}</dd></div>
        <div><dt>Storage</dt><dd>{formatBytes(u.storage_bytes)}{quota ? ' of ' + formatBytes(quota) : ''}</dd></div>
        {quota ? <div><dt>Quota used</dt><dd><meter min="0" max={quota} value={u.storage_bytes} /></dd></div> : null}
        {Object.entries(u).filter(([k]) => !['members', 'storage_bytes', 'storage_quota_bytes'].includes(k) && typeof u[k] !== 'object').map(([k, v]) => (
          <div key={k}><dt>{k.replace(/_/g, ' ')}</dt><dd>{String(v)}</dd></div>
        ))}
      </dl>
    </section>
  );
}

function Announcements() {
  const [items, error, reload] = useLoad(() => apiAll('/v1/notices', 200));
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [err, act] = useAction(reload);
  const post = (e) => {
    e.preventDefault();
    act(async () => {
      await api('POST', '/v1/admin/notices', { title: title.trim(), body: body.trim() });
      setTitle('');
      setBody('');
    });
  };
  return (
    <section aria-labelledby="ann-title">
      <h2 id="ann-title">Announcements</h2>
      <form class="card" onSubmit={post}>
        <label>Title<input value={title} onInput={(e) => setTitle(e.target.value)} required /></label>
        <label>Text<textarea rows="3" value={body} onInput={(e) => setBody(e.target.value)} required /></label>
        <button type="submit" class="primary">Announce to everyone</button>
      </form>
      {(err || error) && <p class="error" role="alert">{err || error}</p>}
      <NoticeList notices={items || []} />
    </section>
  );
}

function Reports({ client }) {
  const [state, setState] = useState('open');
  const [items, error, reload] = useLoad(() => apiAll('/v1/admin/reports?state=' + state, 500), [state]);
  const [err, act] = useAction(reload);
  const resolve = (r, action) => {
    const body = { action };
    if (action === 'warn') {
      const text = prompt('Warning to send to the sender', 'Please keep to the workplace guidelines.');
      if (!text) return;
      body.text = text;
    }
    if (action === 'restrict') body.features = ['send'];
    act(() => api('POST', `/v1/admin/reports/${r.report}/resolve`, body));
  };
  return (
    <section aria-labelledby="rep-title">
      <h2 id="rep-title">Reports</h2>
      <div class="tabs">
        {['open', 'resolved'].map((s2) => <button key={s2} class={state === s2 ? 'on' : ''} onClick={() => setState(s2)}>{s2}</button>)}
      </div>
      {(err || error) && <p class="error" role="alert">{err || error}</p>}
      <table class="list">
        <thead><tr><th scope="col">Reported message</th><th scope="col">Reason</th><th scope="col">Reporter</th><th scope="col">{state === 'open' ? 'Resolve' : 'Action'}</th></tr></thead>
        <tbody>
          {(items || []).map((r) => (
            <tr key={r.report}>
              <td>{r.message ? `${client.name(r.message.from)}: ${r.message.recalled ? '(recalled)' : r.message.body?.text || r.message.type}` : `#${r.seq}`}</td>
              <td>{r.reason}</td>
              <td>{client.name(r.reporter)}</td>
              <td>{state === 'open' ? (
                <div class="actions">
                  {['dismiss', 'remove_message', 'warn', 'restrict', 'suspend'].map((a) => <button key={a} class={a === 'suspend' ? 'danger' : ''} onClick={() => resolve(r, a)}>{a.replace('_', ' ')}</button>)}
                </div>
              ) : r.action}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Calls({ client }) {
  const [minutes, error1] = useLoad(() => api('GET', '/v1/admin/call_minutes'));
  const [calls, error2] = useLoad(() => apiAll('/v1/admin/calls', 500));
  return (
    <section aria-labelledby="calls-title">
      <h2 id="calls-title">Calls</h2>
      {(error1 || error2) && <p class="error" role="alert">{error1 || error2}</p>}
      {minutes && (
        <dl class="stats">
          <div><dt>Minutes left</dt><dd>{minutes.balance_minutes}</dd></div>
          <div><dt>Credited</dt><dd>{minutes.credited_minutes}</dd></div>
          <div><dt>Used</dt><dd>{minutes.used_minutes}</dd></div>
        </dl>
      )}
      <table class="list">
        <thead><tr><th scope="col">Started</th><th scope="col">By</th><th scope="col">Media</th><th scope="col">Ended</th><th scope="col">Minutes billed</th></tr></thead>
        <tbody>
          {(calls || []).map((c) => (
            <tr key={c.call}>
              <td>{new Date(c.created_at).toLocaleString()}</td><td>{client.name(c.initiator)}</td><td>{c.media}</td>
              <td>{c.end_reason || (c.ended_at ? 'ended' : 'live')}</td><td>{c.billed_minutes}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Exports() {
  const [items, error, reload] = useLoad(() => apiAll('/v1/admin/exports', 100));
  const [err, act] = useAction(reload);
  // While an export runs, its progress is polled.
  useEffect(() => {
    if (!(items || []).some((x) => x.state === 'pending' || x.state === 'running')) return;
    const t = setTimeout(reload, 1000);
    return () => clearTimeout(t);
  }, [items]);
  const download = (x) => act(async () => {
    const res = await fetch(`/v1/admin/exports/${x.export}/download`, { headers: { Authorization: 'Bearer ' + currentToken() } });
    if (!res.ok) throw new Error('download failed: ' + res.status);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `export-${x.export}.tar.gz`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  });
  return (
    <section aria-labelledby="exp-title">
      <h2 id="exp-title">Exports</h2>
      <p>A tar of JSON Lines files with every member, conversation and message, and the media.</p>
      <div><button class="primary" onClick={() => act(() => api('POST', '/v1/admin/exports', { scope: 'org' }))}>Export the organization</button></div>
      {(err || error) && <p class="error" role="alert">{err || error}</p>}
      <table class="list">
        <thead><tr><th scope="col">Export</th><th scope="col">Started</th><th scope="col">State</th><th scope="col">Progress</th><th /></tr></thead>
        <tbody>
          {(items || []).map((x) => (
            <tr key={x.export}>
              <td>{x.export} ({x.scope})</td>
              <td>{new Date(x.created_at).toLocaleString()}</td>
              <td>{x.state}</td>
              <td><progress max="1" value={x.progress || 0} aria-label="Export progress" /> {Math.round((x.progress || 0) * 100)}%</td>
              <td>{x.state === 'ready' && <button onClick={() => download(x)}>Download{x.size ? ' (' + formatBytes(x.size) + ')' : ''}</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Organization({ client }) {
  const [confirmName, setConfirmName] = useState('');
  const [err, setErr] = useState('');
  const [done, setDone] = useState(null);
  if (client.me.role !== 'owner') return <p class="empty">Only the organization's owner may delete it.</p>;
  const del = async (e) => {
    e.preventDefault();
    setErr('');
    try {
      setDone(await api('DELETE', '/v1/admin/org', { confirm: confirmName }));
    } catch (e2) {
      setErr(e2.message);
    }
  };
  return (
    <form class="card danger-zone" onSubmit={del} aria-labelledby="org-title">
      <h2 id="org-title">Delete the organization</h2>
      <p>Every session ends, every login is refused, and all data is purged after the grace period. Type the organization's name to confirm.</p>
      <label>Organization name<input value={confirmName} onInput={(e) => setConfirmName(e.target.value)} required /></label>
      {err && <p class="error" role="alert">{err}</p>}
      {done && <p class="info" role="status">Deletion under way; data purged after {new Date(done.purge_after).toLocaleString()}.</p>}
      <button type="submit" class="danger">Delete the organization</button>
    </form>
  );
}
