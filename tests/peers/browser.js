'use strict';
// Drives the demo pages in headless Chromium (Debian's, through playwright-core) like a person would,
// saves a screenshot of each page, and prints one JSON line with what it saw.
//   node browser.js '{"url":"http://127.0.0.1:5000","shots":"/path/to/screenshots"}'
const { chromium } = require('playwright-core');
const path = require('path');

const opts = JSON.parse(process.argv[2]);
const BASE = opts.url;
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const shot = (page, name) => page.screenshot({ path: path.join(opts.shots, name + '.png'), fullPage: true });
const text = (page, selector) => page.locator(selector).innerText();

async function landing(browser) {
  const page = await browser.newPage();
  await page.goto(BASE + '/');
  const links = await page.locator('.card a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  await shot(page, 'landing');
  await page.close();
  return { links };
}

async function push(browser) {
  const page = await browser.newPage();
  await page.goto(BASE + '/push');
  await page.waitForFunction(() => Number(document.getElementById('count').textContent) >= 4, null, { timeout: 15000 });
  const points = (await page.locator('#line').getAttribute('points')).trim().split(' ').length;
  const value = await text(page, '#value');
  await shot(page, 'push');
  await page.close();
  return { points, value };
}

async function progress(browser) {
  const page = await browser.newPage();
  await page.goto(BASE + '/progress');
  await page.waitForFunction(() => window.io && true);
  const seen = [];
  await page.exposeFunction('seenStep', (s) => seen.push(s));
  await page.evaluate(() => {
    new MutationObserver(() => window.seenStep(document.getElementById('step').textContent))
      .observe(document.getElementById('step'), { childList: true, characterData: true, subtree: true });
  });
  await page.click('#start-button');
  await page.waitForFunction(() => document.getElementById('step').textContent === '5', null, { timeout: 15000 });
  await shot(page, 'progress-midway');
  await page.waitForFunction(() => document.getElementById('state').textContent === 'done', null, { timeout: 15000 });
  await page.waitForTimeout(300); // the bar's width transition
  const width = await page.evaluate(() => document.getElementById('bar').style.width);
  await shot(page, 'progress-done');
  await page.close();
  return { seen, width };
}

async function echo(browser, url, name) {
  const page = await browser.newPage();
  await page.goto(BASE + url);
  await page.waitForFunction(() => document.getElementById('transport').textContent === 'websocket', null, { timeout: 15000 });
  await page.fill('#data', 'hello 中文 😀');
  await page.click('#emit button');
  await page.waitForFunction(() => document.getElementById('log').innerText.includes('ack:'), null, { timeout: 10000 });
  const log = await text(page, '#log');
  await shot(page, name);
  await page.close();
  return { log };
}

async function chat(browser) {
  const [ada, bob] = [await browser.newContext(), await browser.newContext()];
  const [a, b] = [await ada.newPage(), await bob.newPage()];
  for (const [page, name] of [[a, 'Ada'], [b, 'Bob']]) {
    await page.goto(BASE + '/chat');
    await page.fill('#name', name);
    await page.fill('#room', 'lobby');
    await page.click('#join button');
    await page.waitForFunction((n) => document.getElementById('members').innerText.includes(n), name);
  }
  await a.waitForFunction(() => document.getElementById('log').innerText.includes('Bob has entered the room.'));
  await b.fill('#msg', 'hi Ada');
  await b.click('#say button');
  await a.waitForFunction(() => document.getElementById('log').innerText.includes('Bob: hi Ada'));
  const members = await text(a, '#members');
  const log = await text(a, '#log');
  await shot(a, 'chat');
  await ada.close();
  await bob.close();
  return { members, log };
}

async function signIn(context, name, base = BASE) {
  const page = await context.newPage();
  await page.goto(base + '/notifications');
  await page.fill('input[name=name]', name);
  await page.click('form[action="/notifications/signin"] button');
  await page.waitForFunction(() => window.io && document.getElementById('badge'));
  return page;
}

async function notifications(browser) {
  const stamp = Date.now().toString(36);
  const [alice, bob] = ['alice' + stamp, 'bob' + stamp];
  const carol = 'carol' + stamp;
  const ctxA = await browser.newContext();
  const ctxB = await browser.newContext();
  const a = await signIn(ctxA, alice);
  const b1 = await signIn(ctxB, bob);
  const b2 = await ctxB.newPage(); // a second tab of bob, same session cookie
  await b2.goto(BASE + '/notifications');
  await b2.waitForFunction(() => window.io && document.getElementById('badge'));
  await b1.waitForTimeout(300); // both of bob's tabs have joined bob's room
  const navigations = { b1: 0, b2: 0 };
  b1.on('framenavigated', () => { navigations.b1 += 1; });
  b2.on('framenavigated', () => { navigations.b2 += 1; });
  await a.fill('#to', bob);
  await a.fill('#text', 'lunch at noon?');
  await a.click('#send button');
  for (const tab of [b1, b2]) {
    await tab.waitForFunction(() => document.getElementById('inbox').innerText.includes('lunch at noon?'));
    await tab.waitForFunction(() => document.getElementById('badge').textContent === '1');
  }
  await shot(b2, 'notifications-unread');
  await b1.click('#read');
  await b2.waitForFunction(() => document.getElementById('badge').textContent === '0');
  const badgeAfterRead = await text(b2, '#badge');
  // Sent while carol is offline: she finds it when she signs in.
  await a.fill('#to', carol);
  await a.fill('#text', 'see you tomorrow');
  await a.click('#send button');
  await a.waitForFunction(() => document.getElementById('sent').textContent === 'sent');
  const ctxC = await browser.newContext();
  const c = await signIn(ctxC, carol);
  await c.waitForFunction(() => document.getElementById('inbox').innerText.includes('see you tomorrow'));
  const carolBadge = await text(c, '#badge');
  await shot(c, 'notifications-offline');
  for (const ctx of [ctxA, ctxB, ctxC]) await ctx.close();
  return { navigations, badgeAfterRead, carolBadge };
}

// Two processes sharing rooms through Redis: alice on one, bob on the other.
async function notificationsAcrossProcesses(browser) {
  const stamp = Date.now().toString(36);
  const [alice, bob] = ['alice' + stamp, 'bob' + stamp];
  const ctxA = await browser.newContext();
  const ctxB = await browser.newContext();
  const a = await signIn(ctxA, alice, BASE);
  const b = await signIn(ctxB, bob, opts.url2);
  await b.waitForTimeout(300);
  await a.fill('#to', bob);
  await a.fill('#text', 'from the other process');
  await a.click('#send button');
  await b.waitForFunction(() => document.getElementById('inbox').innerText.includes('from the other process'));
  const badge = await text(b, '#badge');
  await shot(b, 'notifications-two-processes');
  // The Admin UI, signed in on the first process, lists the sockets of both and both servers.
  const { page: admin, context } = await adminSignIn(browser);
  await admin.goto(BASE + '/admin/#/sockets');
  await pickNamespace(admin, '/notifications');
  const ids = [await a.evaluate(() => socket.id), await b.evaluate(() => socket.id)];
  for (const id of ids) await admin.locator('tbody tr', { hasText: id }).waitFor();
  await shot(admin, 'admin-two-processes');
  await admin.goto(BASE + '/admin/#/servers');
  await admin.locator('tbody tr').filter({ visible: true }).nth(1).waitFor();
  const servers = await admin.locator('tbody tr').filter({ visible: true }).count();
  for (const ctx of [ctxA, ctxB, context]) await ctx.close();
  return { badge, listed: ids.length, servers };
}

async function adminSignIn(browser) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.route(/fonts\.googleapis\.com/, (route) => route.abort()); // offline: the UI's web font
  const page = await context.newPage();
  await page.goto(BASE + '/admin/');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('surge-demo');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByText(/^\s*connected\s*$/i).first().waitFor();
  return { page, context };
}

async function pickNamespace(page, nsp) {
  await page.getByLabel('Select namespace').filter({ visible: true }).click({ force: true });
  await page.getByRole('option', { name: nsp, exact: true }).click();
}

// The official Admin UI served by the demo: sign in, see the chat's sockets and room, disconnect Bob.
async function adminUi(browser) {
  const users = {};
  for (const name of ['Ada', 'Bob']) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(BASE + '/chat');
    await page.fill('#name', name);
    await page.fill('#room', 'lobby');
    await page.click('#join button');
    await page.waitForFunction((n) => document.getElementById('members').innerText.includes(n), name);
    users[name] = page;
  }
  const bobId = await users.Bob.evaluate(() => socket.id);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.route(/fonts\.googleapis\.com/, (route) => route.abort()); // offline: the UI's web font
  const page = await context.newPage();
  await page.goto(BASE + '/admin/');
  const serverUrl = await page.getByLabel('Server URL').inputValue(); // filled in for a first visit
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('wrong');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByText('Invalid credentials').waitFor();
  await page.getByLabel('Password').fill('surge-demo');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByText(/^\s*connected\s*$/i).first().waitFor();
  const namespaces = page.locator('tr', { hasText: '/chat' });
  await namespaces.first().waitFor();
  const chatSockets = (await namespaces.first().innerText()).split(/\s+/).pop();
  await shot(page, 'admin-dashboard');
  const pick = (nsp) => pickNamespace(page, nsp);
  await page.goto(BASE + '/admin/#/rooms');
  await pick('/chat');
  const lobby = page.locator('tr', { hasText: 'lobby' });
  await lobby.waitFor();
  const room = (await lobby.innerText()).split(/\s+/);
  await shot(page, 'admin-rooms');
  await page.goto(BASE + '/admin/#/sockets');
  await pick('/chat');
  const bobRow = page.locator('tbody tr', { hasText: bobId });
  await bobRow.waitFor();
  const visibleRows = () => page.locator('tbody tr').filter({ visible: true }).count();
  const rows = await visibleRows();
  await shot(page, 'admin-sockets');
  await bobRow.locator('button').click();
  await users.Bob.waitForFunction(() => !socket.connected);
  const bobGone = await users.Bob.evaluate(() => socket.disconnected);
  const adaConnected = await users.Ada.evaluate(() => socket.connected);
  await page.goto(BASE + '/admin/#/sockets'); // the click also opened Bob's details
  await pick('/chat');
  await page.locator('tbody tr', { hasText: await users.Ada.evaluate(() => socket.id) }).waitFor();
  const rowsAfter = await visibleRows();
  await shot(page, 'admin-after-disconnect');
  await page.goto(BASE + '/inside'); // the demo's page: the UI in a frame, the metrics read live
  await page.waitForFunction(() => document.getElementById('metrics').innerText.includes('surge_connects_total'));
  const metrics = await text(page, '#metrics');
  await page.waitForTimeout(1000); // the frame's UI draws
  await shot(page, 'inside');
  for (const user of Object.values(users)) await user.context().close();
  await context.close();
  return { serverUrl, chatSockets, room, rows, bobGone, adaConnected, rowsAfter, metrics };
}

async function main() {
  const browser = await chromium.launch({ executablePath: opts.chromium || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const result = {};
  try {
    if (opts.url2) {
      result.cluster = await notificationsAcrossProcesses(browser);
      return;
    }
    result.landing = await landing(browser);
    result.push = await push(browser);
    result.progress = await progress(browser);
    result.echo = await echo(browser, '/echo', 'echo');
    result.old2 = await echo(browser, '/old-client/2', 'old-client-2');
    result.old1 = await echo(browser, '/old-client/1', 'old-client-1');
    result.chat = await chat(browser);
    result.notifications = await notifications(browser);
    result.admin = await adminUi(browser);
  } catch (err) {
    result.error = String(err && err.stack || err);
  } finally {
    await browser.close();
    process.stdout.write(JSON.stringify(result) + '\n');
  }
}
main();
