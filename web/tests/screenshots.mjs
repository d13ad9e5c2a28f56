// Screenshots of the web app's main screens for docs/screenshots/ (tools/screenshots.sh runs this
// against a real server and PostgreSQL): a small organization with a conversation in it, then
// each screen at desktop size, and the chat at phone width.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Server, browser, openDirect, signIn } from './harness.mjs';

const out = process.argv[2];
if (!out) throw new Error('usage: node screenshots.mjs OUTPUT_DIR');
mkdirSync(out, { recursive: true });

const server = await Server.start();
const b = await browser();
try {
  const admin = server.admin;
  const t = admin.token;
  const sales = await server.api('POST', '/v1/admin/departments', { name: 'Sales' }, t);
  await server.api('POST', '/v1/admin/departments', { name: 'East', parent: sales.department }, t);
  await server.api('POST', '/v1/admin/departments', { name: 'Engineering' }, t);
  const bob = await server.member('Bob Builder', '+8613800000002');
  for (const [name, mobile] of [['Carol Chen', '+8613800000003'], ['Dave Du', '+8613800000004'], ['Erin Eng', '+8613800000005']])
    await server.member(name, mobile);

  const shot = (page, name) => page.screenshot({ path: join(out, name + '.png') });

  // Sign-in.
  const ctx = await b.newContext({ viewport: { width: 1200, height: 760 } });
  const login = await ctx.newPage();
  await login.goto(server.url + '/');
  await login.getByLabel('Organization ID').fill(server.org);
  await login.getByLabel('Mobile number').fill(admin.mobile);
  await shot(login, 'sign-in');
  await ctx.close();

  // A conversation between Alice and Bob, and a group.
  const A = await signIn(b, server, admin, { width: 1200, height: 760 });
  const B = await signIn(b, server, bob, { width: 1200, height: 760 });
  await openDirect(A.page, 'Bob Builder');
  const say = async (P, text) => {
    const c = P.page.getByLabel('Message', { exact: true });
    await c.fill(text);
    await c.press('Enter');
    await P.page.locator('.msg.mine:not(.pending)', { hasText: text }).waitFor();
  };
  await say(A, 'Morning Bob! Are the quarterly numbers in?');
  await B.page.locator('.conv', { hasText: 'Alice Admin' }).click();
  await say(B, 'Almost: East is done, the rest by noon.');
  await say(A, 'Great, thanks. Can you share the draft?');
  await B.page.locator('.composer input[type=file]').setInputFiles({ name: 'Q3-draft.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n', 'latin1') });
  await A.page.locator('.file', { hasText: 'Q3-draft.pdf' }).waitFor();
  await new Promise((r) => setTimeout(r, 3100));  // the client says 'typing' at most every 3 s
  await B.page.getByLabel('Message', { exact: true }).pressSequentially('Sending', { delay: 30 });
  await A.page.locator('.typing').waitFor();
  await shot(A.page, 'chat');
  await B.page.getByLabel('Message', { exact: true }).fill('');

  // A voice call: Bob's ringing bar, then the call.
  await A.page.getByRole('button', { name: 'Voice call' }).click();
  const ring = B.page.getByRole('alertdialog', { name: 'Incoming call from Alice Admin' });
  await ring.waitFor();
  await shot(B.page, 'call-ringing');
  await ring.getByRole('button', { name: 'Accept' }).click();
  await A.page.locator('.incall .peer[data-peer-state="connected"]').waitFor({ timeout: 20000 });
  await shot(A.page, 'call');
  await A.page.getByRole('button', { name: 'Hang up' }).click();
  await B.page.getByRole('status').filter({ hasText: 'Call ended' }).waitFor();

  await A.page.getByRole('link', { name: 'Directory' }).click();
  await A.page.locator('tr', { hasText: 'Carol Chen' }).getByRole('checkbox').check();
  await A.page.locator('tr', { hasText: 'Dave Du' }).getByRole('checkbox').check();
  await A.page.getByPlaceholder('Group name').fill('Quarterly review');
  await shot(A.page, 'directory');
  await A.page.getByRole('button', { name: 'Create group' }).click();
  await say(A, 'Review on Thursday at 10, room 4.');

  await A.page.getByRole('link', { name: 'Console' }).click();
  await A.page.locator('tr', { hasText: 'Erin Eng' }).waitFor();
  await shot(A.page, 'console-members');
  await A.page.getByRole('link', { name: 'Import' }).click();
  await A.page.getByLabel('CSV rows').fill('name,mobile,department,title\nFiona Fang,+8613800000006,Sales/East,Rep\nNo Number,,Sales,Rep\nGeorge Gu,+8613800000007,Engineering,Engineer\n');
  await A.page.getByRole('button', { name: 'Import' }).click();
  await A.page.locator('.report').waitFor();
  await shot(A.page, 'console-import');
  await A.page.getByRole('link', { name: 'Audit log' }).click();
  await A.page.locator('table.list tbody tr').first().waitFor();
  await shot(A.page, 'console-audit');

  // Phone width: the conversation alone.
  const P = await signIn(b, server, bob, { width: 390, height: 760 });
  await P.page.locator('.conv', { hasText: 'Alice Admin' }).click();
  await P.page.locator('.msg', { hasText: 'Can you share the draft?' }).waitFor();
  await shot(P.page, 'chat-phone');
  console.log('screenshots written to ' + out);
} finally {
  await b.close();
  await server.stop();
}
