// Two members chat in two browser contexts against the real server and PostgreSQL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { openDirect, serverAndBrowser, signIn } from './harness.mjs';

const shared = serverAndBrowser();

// A real PNG of w x h pixels (the server checks that the bytes are what the type says, the
// browser decodes it).
function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;  // bit depth
  ihdr[9] = 2;  // RGB
  const rows = [];
  for (let y = 0; y < h; y++) rows.push(Buffer.from([0, ...Array(w * 3).fill(0).map((_, i) => (i % 3 === 2 ? 220 : 60))]));
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}
const PNG = png(40, 30);

test('two members chat: text, typing, read receipts, presence, an image, a file, a recall', async () => {
  const { server, browser: b } = shared;
  const bob = await server.member('Bob Builder', '+8613800000002');
  const alice = { ...server.admin };
  const A = await signIn(b, server, alice);
  const B = await signIn(b, server, bob);

  // Alice finds Bob in the directory and writes to him.
  await openDirect(A.page, 'Bob Builder');
  const composer = A.page.getByLabel('Message', { exact: true });
  await composer.fill('Hello Bob, lunch at noon?');
  await composer.press('Enter');
  await A.page.locator('.msg.mine[data-seq="1"]', { hasText: 'Hello Bob, lunch at noon?' }).waitFor();

  // Bob's list shows the conversation with one unread message, live.
  const entry = B.page.locator('.conv', { hasText: 'Alice Admin' });
  await entry.locator('.badge', { hasText: '1' }).waitFor();
  // Alice is online for Bob once he opens the chat (presence), and he sees the message.
  await entry.click();
  await B.page.locator('.msg[data-seq="1"]', { hasText: 'Hello Bob, lunch at noon?' }).waitFor();
  await B.page.locator('.convview .sub', { hasText: 'online' }).waitFor();
  // Opening it read it: Alice sees the receipt.
  await A.page.locator('.msg.mine[data-seq="1"] .read').waitFor();

  // Bob types: Alice sees it; then he answers.
  const bobComposer = B.page.getByLabel('Message', { exact: true });
  await bobComposer.pressSequentially('Sure', { delay: 20 });
  await A.page.locator('.typing', { hasText: 'Bob Builder is typing' }).waitFor();
  await bobComposer.press('Enter');
  await A.page.locator('.msg[data-seq="2"]', { hasText: 'Sure' }).waitFor();

  // Alice sends an image and a file; Bob sees the picture and the file's name.
  await A.page.locator('.composer input[type=file]').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: PNG });
  await B.page.locator('.msg[data-seq="3"] img.image').waitFor();
  const shown = await B.page.locator('.msg[data-seq="3"] img.image').evaluate((img) => img.complete && img.naturalWidth);
  assert.equal(shown, 40);
  await A.page.locator('.composer input[type=file]').setInputFiles({ name: 'minutes.txt', mimeType: 'text/plain', buffer: Buffer.from('the minutes') });
  await B.page.locator('.msg[data-seq="4"] .file', { hasText: 'minutes.txt' }).waitFor();

  // Every message is in the database once, in order.
  const rows = server.sql("SELECT string_agg(seq::text || ':' || type, ',' ORDER BY seq) FROM messages");
  assert.equal(rows, '1:text,2:text,3:image,4:file');

  // Alice recalls her first message: it is gone for both, its place kept.
  await A.page.locator('.msg.mine[data-seq="1"]').getByRole('button', { name: 'Recall' }).click();
  await B.page.locator('.msg[data-seq="1"] .recalled').waitFor();
  await A.page.locator('.msg[data-seq="1"] .recalled').waitFor();
  assert.equal(await B.page.locator('.msg[data-seq="1"]', { hasText: 'lunch at noon' }).count(), 0);
  await A.context.close();
  await B.context.close();
});

test('a reconnect after the network drops shows every message once, and sends what was written offline once', async () => {
  const { server, browser: b } = shared;
  const carol = await server.member('Carol Chen', '+8613800000003');
  const dave = await server.member('Dave Du', '+8613800000004');
  const C = await signIn(b, server, carol);
  const D = await signIn(b, server, dave);
  await openDirect(C.page, 'Dave Du');
  const cc = C.page.getByLabel('Message', { exact: true });
  await cc.fill('before the drop');
  await cc.press('Enter');
  await D.page.locator('.conv', { hasText: 'Carol Chen' }).click();
  await D.page.locator('.msg', { hasText: 'before the drop' }).waitFor();

  // Dave's network goes away: his page says so, and what he writes waits.
  await D.context.setOffline(true);
  await D.page.getByRole('status').filter({ hasText: /Offline|Connecting/ }).waitFor();
  const dc = D.page.getByLabel('Message', { exact: true });
  await dc.fill('written offline');
  await dc.press('Enter');
  await D.page.locator('.msg.pending', { hasText: 'written offline' }).waitFor();
  for (const t of ['while away 1', 'while away 2', 'while away 3']) {
    await cc.fill(t);
    await cc.press('Enter');
    await C.page.locator('.msg.mine', { hasText: t }).waitFor();
  }

  // Back online: the missed messages arrive once each, and the waiting one is sent once.
  await D.context.setOffline(false);
  await D.page.getByRole('status').filter({ hasText: 'Online' }).waitFor({ timeout: 20000 });
  for (const t of ['while away 1', 'while away 2', 'while away 3']) await D.page.locator('.msg', { hasText: t }).waitFor();
  await D.page.locator('.msg.mine:not(.pending)', { hasText: 'written offline' }).waitFor();
  await C.page.locator('.msg', { hasText: 'written offline' }).waitFor();
  const texts = await D.page.locator('.messages .msg .text').allTextContents();
  assert.deepEqual(texts.filter((t) => t.startsWith('while away') || t === 'before the drop' || t === 'written offline').sort(),
    ['before the drop', 'while away 1', 'while away 2', 'while away 3', 'written offline']);
  const seqs = await D.page.locator('.messages .msg[data-seq]').evaluateAll((els) => els.map((e) => e.dataset.seq));
  assert.equal(new Set(seqs).size, seqs.length, 'no seq shown twice');
  assert.equal(server.sql("SELECT count(*) FROM messages WHERE body::text LIKE '%written offline%'"), '1');
  await C.context.close();
  await D.context.close();
});

test('a voice call: it rings, is accepted, the media connects, a hang-up ends it for both, the summary is in the history', async () => {
  const { server, browser: b } = shared;
  const erin = await server.member('Erin Eng', '+8613800000005');
  const fay = await server.member('Fay Fan', '+8613800000006');
  const E = await signIn(b, server, erin);
  const F = await signIn(b, server, fay);
  await openDirect(E.page, 'Fay Fan');
  await E.page.getByRole('button', { name: 'Voice call' }).click();
  const ring = F.page.getByRole('alertdialog', { name: 'Incoming call from Erin Eng' });
  await ring.waitFor();
  await ring.getByRole('button', { name: 'Accept' }).click();
  // Both ends: the call is active and the peer connection reaches "connected".
  await E.page.locator('.incall[data-state="active"] .peer[data-peer-state="connected"]').waitFor({ timeout: 20000 });
  await F.page.locator('.incall[data-state="active"] .peer[data-peer-state="connected"]').waitFor({ timeout: 20000 });
  const live = await F.page.locator('.incall audio').evaluate((a) => a.srcObject && a.srcObject.getAudioTracks().length);
  assert.equal(live, 1);
  await E.page.getByRole('button', { name: 'Hang up' }).click();
  await F.page.getByRole('status').filter({ hasText: 'Call ended (hangup' }).waitFor();
  await E.page.locator('.system', { hasText: 'Voice call' }).waitFor();
  assert.equal(server.sql("SELECT state FROM calls ORDER BY id DESC LIMIT 1"), 'ended');
  await E.context.close();
  await F.context.close();
});

test('history pages in as the conversation is scrolled up', async () => {
  const { server, browser: b } = shared;
  const gus = await server.member('Gus Gu', '+8613800000007');
  const hal = await server.member('Hal He', '+8613800000008');
  const G = await signIn(b, server, gus);
  await openDirect(G.page, 'Hal He');
  const composer = G.page.getByLabel('Message', { exact: true });
  for (let i = 1; i <= 60; i++) {
    await composer.fill('note ' + i);
    await composer.press('Enter');
  }
  await G.page.locator('.msg.mine[data-seq="60"]').waitFor();
  const H = await signIn(b, server, hal);
  await H.page.locator('.conv', { hasText: 'Gus Gu' }).click();
  await H.page.locator('.msg[data-seq="60"]').waitFor();
  assert.equal(await H.page.locator('.messages .msg').count(), 50);  // the newest page
  await H.page.locator('.messages').evaluate((el) => (el.scrollTop = 0));
  await H.page.locator('.msg[data-seq="1"]', { hasText: 'note 1' }).waitFor();
  const seqs = await H.page.locator('.messages .msg').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(seqs, Array.from({ length: 60 }, (_, i) => i + 1));
  await G.context.close();
  await H.context.close();
});

test('a voice message: recorded from the microphone, sent, and playable on the other side', async () => {
  const { server, browser: b } = shared;
  const ida = await server.member('Ida Ip', '+8613800000009');
  const jon = await server.member('Jon Jiang', '+8613800000010');
  const I = await signIn(b, server, ida);
  const J = await signIn(b, server, jon);
  await openDirect(I.page, 'Jon Jiang');
  await I.page.getByRole('button', { name: 'Record voice' }).click();
  await I.page.waitForTimeout(1500);
  await I.page.getByRole('button', { name: 'Stop and send' }).click();
  await I.page.locator('.msg.mine:not(.pending) .voice').waitFor();
  await J.page.locator('.conv', { hasText: 'Ida Ip' }).click();
  const audio = J.page.locator('.msg .voice audio');
  await audio.waitFor();
  // The recording decodes: the browser reads a duration from it.
  const duration = await audio.evaluate((a) => new Promise((resolve) => {
    if (a.readyState >= 1) return resolve(a.duration);
    a.onloadedmetadata = () => resolve(a.duration);
    a.onerror = () => resolve(-1);
  }));
  assert.ok(duration > 0.5 || duration === Infinity, 'duration ' + duration);
  assert.equal(server.sql("SELECT type FROM messages m JOIN users u ON u.id = m.sender_id AND u.org_id = m.org_id WHERE u.name = 'Ida Ip'"), 'voice');
  await I.context.close();
  await J.context.close();
});

test('keyboard only: sign in, reach a conversation with Tab, answer with Enter', async () => {
  const { server, browser: b } = shared;
  await server.member('Kim Ko', '+8613800000011');
  const lee = await server.member('Lee Lu', '+8613800000012');
  const L = await signIn(b, server, lee);
  await openDirect(L.page, 'Kim Ko');
  const lc = L.page.getByLabel('Message', { exact: true });
  await lc.fill('are you there, Kim?');
  await lc.press('Enter');
  await L.page.locator('.msg.mine:not(.pending)', { hasText: 'are you there, Kim?' }).waitFor();

  const context = await b.newContext();
  const page = await context.newPage();
  await page.goto(server.url + '/');
  const kb = page.keyboard;
  // Tab until `pred` holds for the focused element (at most 30 presses).
  const tabTo = async (pred, arg) => {
    for (let i = 0; i < 30; i++) {
      await kb.press('Tab');
      if (await page.evaluate(pred, arg)) return;
    }
    throw new Error('Tab never reached ' + arg);
  };
  await tabTo((n) => document.activeElement?.name === n, 'org');
  await kb.type(server.org);
  await tabTo((n) => document.activeElement?.name === n, 'mobile');
  await kb.type('+8613800000011');
  await tabTo((n) => document.activeElement?.name === n, 'password');
  await kb.type('member-password');
  await kb.press('Enter');
  await page.getByRole('status').filter({ hasText: 'Online' }).waitFor();
  await page.locator('.conv', { hasText: 'Lee Lu' }).waitFor();
  await tabTo((t) => document.activeElement?.classList.contains('conv') && document.activeElement.textContent.includes(t), 'Lee Lu');
  await kb.press('Enter');
  await page.locator('.msg', { hasText: 'are you there, Kim?' }).waitFor();
  await tabTo((tag) => document.activeElement?.tagName === tag, 'TEXTAREA');
  await kb.type('yes, here');
  await kb.press('Enter');
  await L.page.locator('.msg', { hasText: 'yes, here' }).waitFor();
  await context.close();
  await L.context.close();
});
