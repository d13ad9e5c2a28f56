import { useState } from 'preact/hooks';
import { api } from '../api.js';

// Sign in with password or with a code sent by SMS (PROTOCOL.md: POST /v1/auth/code, /login).
export function Login({ onSignedIn, notice }) {
  const [org, setOrg] = useState(localStorage.getItem('switchboard.org') || '');
  const [mobile, setMobile] = useState(localStorage.getItem('switchboard.mobile') || '');
  const [secret, setSecret] = useState('');
  const [mode, setMode] = useState('password');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [info, setInfo] = useState('');

  const sendCode = async () => {
    setError('');
    setInfo('');
    try {
      await api('POST', '/v1/auth/code', { org: org.trim(), mobile: mobile.trim(), purpose: 'login' }, { anonymous: true });
      setInfo('A 6-digit code is on its way to ' + mobile.trim() + '.');
    } catch (e) {
      setError(e.message);
    }
  };

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const body = { org: org.trim(), mobile: mobile.trim() };
      body[mode === 'password' ? 'password' : 'code'] = secret;
      const r = await api('POST', '/v1/auth/login', body, { anonymous: true });
      localStorage.setItem('switchboard.org', org.trim());
      localStorage.setItem('switchboard.mobile', mobile.trim());
      onSignedIn({ token: r.token, user: r.user, expires_at: r.expires_at });
    } catch (err) {
      setError(err.code === 'unauthorized' ? 'Wrong organization, number or ' + (mode === 'password' ? 'password.' : 'code.') : err.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login">
      <form class="card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to Switchboard</h1>
        {notice && <p class="warn" role="alert">{notice}</p>}
        <label>Organization ID<input name="org" value={org} onInput={(e) => setOrg(e.target.value)} required inputMode="numeric" autoComplete="organization" /></label>
        <label>Mobile number<input name="mobile" value={mobile} onInput={(e) => setMobile(e.target.value)} required placeholder="+8613800000000" autoComplete="tel" /></label>
        <div class="tabs" role="tablist">
          <button type="button" role="tab" aria-selected={mode === 'password'} class={mode === 'password' ? 'on' : ''} onClick={() => setMode('password')}>Password</button>
          <button type="button" role="tab" aria-selected={mode === 'code'} class={mode === 'code' ? 'on' : ''} onClick={() => setMode('code')}>SMS code</button>
        </div>
        {mode === 'password' ? (
          <label>Password<input name="password" type="password" value={secret} onInput={(e) => setSecret(e.target.value)} required autoComplete="current-password" /></label>
        ) : (
          <div class="row">
            <label class="grow">Code<input name="code" value={secret} onInput={(e) => setSecret(e.target.value)} required inputMode="numeric" autoComplete="one-time-code" /></label>
            <button type="button" onClick={sendCode} disabled={!org || !mobile}>Send code</button>
          </div>
        )}
        {info && <p class="info">{info}</p>}
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </div>
  );
}
