// Browser tests' harness: a fresh database in the test PostgreSQL (SB_TEST_DATABASE_URL, started by
// tools/test.sh), the real switchboard binary serving it on a free 127.0.0.1 port, and Debian's
// Chromium driven by playwright-core. Everything started here is stopped by its PID.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const BINARY = process.env.SB_SERVER_BINARY;
export const CHROMIUM = process.env.SB_CHROMIUM || '/usr/bin/chromium';

function need(name) {
  if (!process.env[name]) throw new Error(`${name} is not set: run the browser tests through tools/test.sh (ctest)`);
  return process.env[name];
}

function withDb(url, db) {
  const u = new URL(url);
  u.pathname = '/' + db;
  return u.toString();
}

export class Server {
  // Starts a server on a fresh database with one organization; `env` adds settings.
  static async start(env = {}) {
    const s = new Server();
    await s.#start(env);
    return s;
  }

  async #start(env) {
    const cluster = need('SB_TEST_DATABASE_URL');
    need('SB_SERVER_BINARY');
    this.db = 'sbweb_' + randomBytes(6).toString('hex');
    execFileSync('psql', ['-qX', cluster, '-c', `CREATE DATABASE ${this.db}`]);
    this.dir = mkdtempSync(join(tmpdir(), 'sbweb-'));
    this.smsFile = join(this.dir, 'sms.log');
    this.env = {
      ...process.env,
      SWITCHBOARD_DATABASE_URL: withDb(cluster, this.db),
      SWITCHBOARD_SERVER_LISTEN: '127.0.0.1:0',
      SWITCHBOARD_MEDIA_DIR: join(this.dir, 'media'),
      SWITCHBOARD_SMS_SINK: 'file',
      SWITCHBOARD_SMS_PATH: this.smsFile,
      SWITCHBOARD_AUTH_SCRYPT_LOG2_N: '10',
      ...env,
    };
    execFileSync(BINARY, ['migrate'], { env: this.env, stdio: 'pipe' });
    const created = JSON.parse(execFileSync(BINARY, ['org', 'create', '--name', 'Acme', '--admin-name', 'Alice Admin',
      '--admin-mobile', '+8613800000001', '--admin-password', 'alice-password'], { env: this.env }).toString());
    this.org = created.org;
    // Call minutes, so that calls can be placed.
    execFileSync(BINARY, ['org', 'credit-minutes', '--org', this.org, '--minutes', '600', '--ref', 'browser tests'], { env: this.env });
    this.proc = spawn(BINARY, ['serve'], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.output = '';
    this.port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not start:\n' + this.output)), 30000);
      const on = (chunk) => {
        this.output += chunk;
        const m = this.output.match(/\blistening on 127\.0\.0\.1:(\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      this.proc.stdout.on('data', on);
      this.proc.stderr.on('data', on);
      this.proc.on('exit', (code) => reject(new Error(`server exited with ${code}:\n` + this.output)));
    });
    this.url = `http://127.0.0.1:${this.port}`;
    this.admin = await this.login('+8613800000001', 'alice-password');
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');  // by its PID
      await exited;
    }
    try {
      execFileSync('psql', ['-qX', need('SB_TEST_DATABASE_URL'), '-c', `DROP DATABASE IF EXISTS ${this.db} WITH (FORCE)`]);
    } catch {
      /* best effort */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  async api(method, path, body, token) {
    const res = await fetch(this.url + path, {
      method,
      headers: { ...(token ? { Authorization: 'Bearer ' + token } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return json;
  }

  async login(mobile, password) {
    const r = await this.api('POST', '/v1/auth/login', { org: this.org, mobile, password });
    return { token: r.token, user: r.user, mobile, password };
  }

  // A member created by the admin, signed in.
  async member(name, mobile, password = 'member-password') {
    await this.api('POST', '/v1/admin/users', { name, mobile, password }, this.admin.token);
    return this.login(mobile, password);
  }

  // Direct SQL on this server's database.
  sql(query) {
    return execFileSync('psql', ['-qAtX', this.env.SWITCHBOARD_DATABASE_URL, '-c', query]).toString().trim();
  }

  smsCodes() {
    try {
      return readFileSync(this.smsFile, 'utf8');
    } catch {
      return '';
    }
  }
}

// Headless Chromium, with the flags this machine's closed network needs.
export async function browser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      // Calls: a fake camera and microphone, granted without asking, and media that plays at once.
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
  });
}

// A page signed in through the sign-in form.
export async function signIn(b, server, who, viewport = { width: 1200, height: 800 }) {
  const context = await b.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(server.url + '/');
  await page.getByLabel('Organization ID').fill(server.org);
  await page.getByLabel('Mobile number').fill(who.mobile);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('status').filter({ hasText: 'Online' }).waitFor();
  return { context, page };
}

// For a test file: one server and one browser for all its tests, stopped after them.
export function serverAndBrowser(env = {}) {
  const shared = {};
  before(async () => {
    shared.server = await Server.start(env);
    shared.browser = await browser();
  });
  after(async () => {
    await shared.browser?.close();
    await shared.server?.stop();
  });
  return shared;
}

// Opens (or starts) the direct conversation with `name` through the directory.
export async function openDirect(page, name) {
  await page.getByRole('link', { name: 'Directory' }).click();
  await page.locator('tr', { hasText: name }).getByRole('button', { name: 'Message' }).click();
  await page.getByRole('heading', { name }).waitFor();
}
