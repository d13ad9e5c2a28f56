// The console: an admin imports members and suspends one; a member is refused the console.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDirect, serverAndBrowser, signIn } from './harness.mjs';

const shared = serverAndBrowser();

test('an admin imports a CSV and sees each row\'s result, the bad rows with their errors', async () => {
  const { server, browser: b } = shared;
  const A = await signIn(b, server, server.admin);
  await A.page.getByRole('link', { name: 'Console' }).click();
  await A.page.getByRole('link', { name: 'Import' }).click();
  const csv = [
    'name,mobile,department,title',
    'Erin Eng,+8613800000011,Sales/East,Rep',
    'No Number,,Sales,Rep',
    'Frank Fu,12345,Sales,Rep',
    'Gina Gao,+8613800000012,Support,Lead',
  ].join('\n');
  await A.page.getByLabel('CSV rows').fill(csv);
  await A.page.getByRole('button', { name: 'Import' }).click();
  const summary = A.page.locator('.report .summary');
  await summary.waitFor();
  assert.match(await summary.textContent(), /2 created, 0 updated, 2 failed/);
  assert.equal(await A.page.locator('tr[data-row="1"]').getAttribute('class'), 'created');
  for (const row of ['2', '3']) {
    const tr = A.page.locator(`tr[data-row="${row}"]`);
    assert.equal(await tr.getAttribute('class'), 'error');
    assert.match(await tr.textContent(), /mobile/);
  }
  assert.equal(await A.page.locator('tr[data-row="4"]').getAttribute('class'), 'created');
  // They are members now, with their departments made.
  assert.equal(server.sql("SELECT count(*) FROM users WHERE name IN ('Erin Eng', 'Gina Gao')"), '2');
  await A.context.close();
});

test('suspending a member signs their open page out, and they cannot sign in again', async () => {
  const { server, browser: b } = shared;
  const hank = await server.member('Hank Hu', '+8613800000021');
  const H = await signIn(b, server, hank);
  const A = await signIn(b, server, server.admin);
  await A.page.getByRole('link', { name: 'Console' }).click();
  A.page.once('dialog', (d) => d.accept('left the company'));
  await A.page.locator('tr', { hasText: 'Hank Hu' }).getByRole('button', { name: 'Suspend' }).click();
  await A.page.locator('tr', { hasText: 'Hank Hu' }).locator('td.status', { hasText: 'suspended' }).waitFor();
  // Hank's page is back at the sign-in form, saying why.
  await H.page.getByRole('heading', { name: 'Sign in to Switchboard' }).waitFor();
  await H.page.getByRole('alert').filter({ hasText: 'suspended' }).waitFor();
  await H.page.getByLabel('Password').fill(hank.password);
  await H.page.getByRole('button', { name: 'Sign in' }).click();
  await H.page.locator('.error').waitFor();
  assert.match(await H.page.locator('.error').textContent(), /suspended/);
  await A.context.close();
  await H.context.close();
});

test('the console refuses a member', async () => {
  const { server, browser: b } = shared;
  const ivy = await server.member('Ivy Ito', '+8613800000031');
  const I = await signIn(b, server, ivy);
  assert.equal(await I.page.getByRole('link', { name: 'Console' }).count(), 0);
  await I.page.goto(server.url + '/#/admin/members');
  await I.page.getByRole('alert').filter({ hasText: 'administrators' }).waitFor();
  // And the API behind it says no as well.
  const res = await fetch(server.url + '/v1/admin/policy', { headers: { Authorization: 'Bearer ' + ivy.token } });
  assert.equal(res.status, 403);
  await I.context.close();
});

test('the page is served with a strict Content-Security-Policy, compressed and cached by ETag', async () => {
  const { server, browser: b } = shared;
  const res = await fetch(server.url + '/', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  const html = await res.text();  // fetch inflates it
  const script = html.match(/src="(\/assets\/[^"]+\.js)"/)[1];
  const etag = res.headers.get('etag');
  const again = await fetch(server.url + '/', { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  const js = await fetch(server.url + script);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('cache-control'), /immutable/);
  assert.equal((await fetch(server.url + '/assets/nope.js')).status, 404);
  assert.equal((await fetch(server.url + '/v1/nope')).status, 404);
  // The app's pages are fragments of / (#/chats): other paths are not the app.
  assert.equal((await fetch(server.url + '/chats')).status, 404);
});

test('the quickstart\'s path: the admin creates a member in the console, and the two chat from two windows', async () => {
  const { server, browser: b } = shared;
  const A = await signIn(b, server, server.admin);
  await A.page.getByRole('link', { name: 'Console' }).click();
  const form = A.page.getByRole('form', { name: 'Create a member' });
  await form.getByLabel('Name').fill('Quinn Qi');
  await form.getByLabel('Mobile').fill('+8613800000041');
  await form.getByLabel('Password').fill('quinn-password');
  await form.getByRole('button', { name: 'Create member' }).click();
  await A.page.getByRole('status').filter({ hasText: 'Created Quinn Qi' }).waitFor();
  await A.page.locator('tr', { hasText: 'Quinn Qi' }).waitFor();
  const Q = await signIn(b, server, { mobile: '+8613800000041', password: 'quinn-password' });
  await openDirect(A.page, 'Quinn Qi');
  const a = A.page.getByLabel('Message', { exact: true });
  await a.fill('Welcome aboard, Quinn!');
  await a.press('Enter');
  await Q.page.locator('.conv', { hasText: 'Alice Admin' }).click();
  await Q.page.locator('.msg', { hasText: 'Welcome aboard, Quinn!' }).waitFor();
  const q = Q.page.getByLabel('Message', { exact: true });
  await q.fill('Thanks, glad to be here');
  await q.press('Enter');
  await A.page.locator('.msg', { hasText: 'Thanks, glad to be here' }).waitFor();
  await A.context.close();
  await Q.context.close();
});

test('groups from the directory: created, renamed, a member added and removed, each change shown to members', async () => {
  const { server, browser: b } = shared;
  const ray = await server.member('Ray Ren', '+8613800000051');
  await server.member('Sue Song', '+8613800000052');
  await server.member('Tim Tang', '+8613800000053');
  const A = await signIn(b, server, server.admin);
  const R = await signIn(b, server, ray);
  await A.page.getByRole('link', { name: 'Directory' }).click();
  await A.page.getByRole('checkbox', { name: 'Pick Ray Ren' }).check();
  await A.page.getByRole('checkbox', { name: 'Pick Sue Song' }).check();
  await A.page.getByPlaceholder('Group name').fill('Launch team');
  await A.page.getByRole('button', { name: 'Create group' }).click();
  await A.page.getByRole('heading', { name: 'Launch team' }).waitFor();
  await A.page.getByRole('button', { name: 'Members' }).click();
  const panel = A.page.getByRole('dialog', { name: 'Group members' });
  await panel.getByLabel('Group name').fill('Launch crew');
  await panel.getByRole('button', { name: 'Rename' }).click();
  await panel.getByLabel('Add a member').selectOption({ label: 'Tim Tang' });
  await panel.getByRole('button', { name: 'Add', exact: true }).click();
  await panel.locator('li', { hasText: 'Tim Tang' }).waitFor();
  await panel.locator('li', { hasText: 'Sue Song' }).getByRole('button', { name: 'Remove' }).click();
  await panel.locator('li', { hasText: 'Sue Song' }).waitFor({ state: 'detached' });
  // Ray sees the group under its new name, with the changes as system messages.
  await R.page.locator('.conv', { hasText: 'Launch crew' }).click();
  await R.page.locator('.system', { hasText: 'renamed the group to “Launch crew”' }).waitFor();
  await R.page.locator('.system', { hasText: 'added Tim Tang' }).waitFor();
  await R.page.locator('.system', { hasText: 'removed Sue Song' }).waitFor();
  await A.context.close();
  await R.context.close();
});

test('signing in with an SMS code, and an announcement reaching a signed-in member live', async () => {
  const { server, browser: b } = shared;
  await server.member('Uma Uy', '+8613800000061');
  const context = await b.newContext();
  const page = await context.newPage();
  await page.goto(server.url + '/');
  await page.getByLabel('Organization ID').fill(server.org);
  await page.getByLabel('Mobile number').fill('+8613800000061');
  await page.getByRole('tab', { name: 'SMS code' }).click();
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.locator('.info', { hasText: 'on its way' }).waitFor();
  const codes = server.smsCodes().match(/\b\d{6}\b/g);
  assert.ok(codes && codes.length > 0, 'an SMS code was sent');
  await page.getByLabel('Code').fill(codes[codes.length - 1]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('status').filter({ hasText: 'Online' }).waitFor();

  const A = await signIn(b, server, server.admin);
  await A.page.goto(server.url + '/#/admin/announcements');
  await A.page.getByLabel('Title').fill('Office closed Friday');
  await A.page.getByLabel('Text').fill('The office is closed for maintenance.');
  await A.page.getByRole('button', { name: 'Announce to everyone' }).click();
  await page.getByRole('link', { name: /Notices/ }).locator('.badge', { hasText: '1' }).waitFor();
  await page.getByRole('link', { name: /Notices/ }).click();
  await page.locator('ul.notices li', { hasText: 'Office closed Friday' }).waitFor();
  await A.context.close();
  await context.close();
});

test('the policy page changes what it shows, and only that', async () => {
  const { server, browser: b } = shared;
  const A = await signIn(b, server, server.admin);
  await A.page.goto(server.url + '/#/admin/policy');
  await A.page.getByLabel('Recall window (seconds)').fill('300');
  await A.page.getByLabel('Directory visibility').selectOption('department');
  await A.page.getByRole('button', { name: 'Save policy' }).click();
  await A.page.getByRole('status').filter({ hasText: 'Policy saved' }).waitFor();
  const policy = await server.api('GET', '/v1/admin/policy', null, server.admin.token);
  assert.equal(policy.recall_window_s, 300);
  assert.equal(policy.directory_visibility, 'department');
  await A.context.close();
});

test('departments made in the console appear in the directory tree; an export runs to ready and downloads', async () => {
  const { server, browser: b } = shared;
  const A = await signIn(b, server, server.admin);
  await A.page.goto(server.url + '/#/admin/departments');
  await A.page.getByLabel('Department name').fill('Research');
  await A.page.getByRole('button', { name: 'Create department' }).click();
  await A.page.getByRole('cell', { name: 'Research', exact: true }).waitFor();
  await A.page.getByLabel('Department name').fill('Labs');
  await A.page.getByLabel('Parent').selectOption({ label: 'Research' });
  await A.page.getByRole('button', { name: 'Create department' }).click();
  await A.page.getByRole('cell', { name: 'Research / Labs', exact: true }).waitFor();
  await A.page.getByRole('link', { name: 'Directory' }).click();
  await A.page.getByRole('complementary', { name: 'Departments' }).locator('li li', { hasText: 'Labs' }).waitFor();

  await A.page.goto(server.url + '/#/admin/exports');
  await A.page.getByRole('button', { name: 'Export the organization' }).click();
  const row = A.page.locator('table.list tbody tr').first();
  await row.locator('td', { hasText: 'ready' }).waitFor({ timeout: 60000 });
  assert.equal(await row.locator('progress').evaluate((p) => p.value), 1);
  const [download] = await Promise.all([A.page.waitForEvent('download'), row.getByRole('button', { name: /Download/ }).click()]);
  const path = await download.path();
  const { readFileSync } = await import('node:fs');
  const bytes = readFileSync(path);
  assert.equal(bytes[0], 0x1f);  // gzip
  assert.equal(bytes[1], 0x8b);
  await A.context.close();
});

test('an invitation made in the console shows its code once, and can be revoked', async () => {
  const { server, browser: b } = shared;
  const A = await signIn(b, server, server.admin);
  await A.page.goto(server.url + '/#/admin/invitations');
  await A.page.getByLabel('Name').fill('Vic Vo');
  await A.page.getByLabel('Mobile').fill('+8613800000071');
  await A.page.getByRole('button', { name: 'Invite' }).click();
  const code = await A.page.locator('code.secret').textContent();
  assert.ok(code.length >= 32, 'an invitation code: ' + code);
  const row = A.page.locator('tr', { hasText: 'Vic Vo' });
  await row.locator('td', { hasText: 'pending' }).waitFor();
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.locator('td', { hasText: 'revoked' }).waitFor();
  // A revoked invitation's code no longer signs anyone up.
  const res = await fetch(server.url + '/v1/invitations/accept', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code, mobile: '+8613800000071', sms_code: '000000' }),
  });
  assert.equal(res.status, 403);
  await A.context.close();
});

test('an app made in the console shows its secret once, and a rotation gives a new one', async () => {
  const { server, browser: b } = shared;
  const A = await signIn(b, server, server.admin);
  await A.page.goto(server.url + '/#/admin/apps');
  await A.page.getByLabel('App name').fill('Payroll bot');
  await A.page.getByRole('button', { name: 'Create app' }).click();
  const secret = A.page.locator('code.secret');
  await secret.waitFor();
  const first = await secret.textContent();
  const row = A.page.locator('tr', { hasText: 'Payroll bot' });
  await row.locator('td', { hasText: 'messages:send' }).waitFor();
  await row.getByRole('button', { name: 'Rotate secret' }).click();
  await A.page.waitForFunction((old) => document.querySelector('code.secret')?.textContent !== old, first);
  assert.notEqual(await secret.textContent(), first);
  await A.context.close();
});
