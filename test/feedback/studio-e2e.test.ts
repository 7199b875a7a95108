// End to end in Debian's Chromium (headless, through playwright-core): an annotator signs in with
// their link, labels a pairwise item and a rating item with the keyboard only, and the export has
// exactly those labels; model output full of HTML is shown as text and never runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { client, jsonl, testStudio } from './helpers.js';
import type { Client } from './helpers.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let studio: Awaited<ReturnType<typeof testStudio>>;
let admin: Client;
let browser: Browser;
let downloads: string;

before(async () => {
  studio = await testStudio();
  admin = client(studio.url, studio.adminToken);
  downloads = mkdtempSync(join(tmpdir(), 'rlhf-studio-downloads-'));
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, downloadsPath: downloads });
});

after(async () => {
  await browser?.close();
  await studio?.stop();
  rmSync(downloads, { recursive: true, force: true });
});

async function freshPage(): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => {
    errors.push(`dialog opened: ${d.message()}`);
    void d.dismiss();
  });
  return { ctx, page, errors };
}

async function addPerson(name: string): Promise<string> {
  const r = await admin.post<{ link: string }>('/api/admin/users', { name });
  assert.equal(r.status, 201);
  return r.body.link;
}

test('sign in with a link, label a pairwise and a rating item by keyboard, and find them in the export', async () => {
  await admin.post('/api/admin/tasks', {
    task: { name: 'prefs', kind: 'pairwise', perItem: 1, title: 'Which reply is kinder?' },
    jsonl: jsonl([{ prompt: 'My code does not compile.', responses: [{ text: 'Skill issue.', model: 'base' }, { text: 'Let us look at the error message together.', model: 'sft' }] }]),
  });
  await admin.post('/api/admin/tasks', {
    task: { name: 'scores', kind: 'rating', perItem: 1, title: 'Rate the answer' },
    jsonl: jsonl([{ prompt: 'What is 2 + 2?', response: 'Four.', model: 'sft' }]),
  });
  const link = await addPerson('Ada');
  const { ctx, page, errors } = await freshPage();
  try {
    // 1. The sign-in link: the token moves to localStorage and out of the address bar.
    await page.goto(link);
    await page.waitForSelector('.task-card');
    assert.equal(new URL(page.url()).hash, '#/');
    assert.equal(await page.textContent('.user-name'), 'Ada');
    assert.ok(await page.evaluate(() => localStorage.getItem('rlhf-studio-token')));

    // 2. Pairwise, keyboard only: "1" opens the first task, "2" picks B, "r" a reason, Enter submits.
    await page.keyboard.press('1');
    await page.waitForSelector('.pair');
    const bText = (await page.textContent('.response[data-letter="B"] .text'))!;
    const aText = (await page.textContent('.response[data-letter="A"] .text'))!;
    await page.keyboard.press('2');
    assert.equal(await page.getAttribute('.choice-B', 'aria-checked'), 'true');
    await page.keyboard.press('r');
    await page.keyboard.type('more helpful');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=You’re all caught up');

    // 3. Rating: digits score the active dimension and move on; Enter submits.
    await page.goto(`${studio.url}/#/label/scores`);
    await page.waitForSelector('.scales');
    for (const key of ['4', '5', '3', '2']) await page.keyboard.press(key);
    assert.equal(await page.textContent('.scales-head .small'), '4/4 scored');
    await page.keyboard.press('ArrowUp'); // back to relevance, raise it to 4 with →
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=You’re all caught up');

    // 4. Their history shows both, as they saw them.
    await page.goto(`${studio.url}/#/mine`);
    await page.waitForSelector('.history-row');
    const history = await page.textContent('.history');
    assert.match(history!, /B better/);
    assert.match(history!, /fluency 2/);
    assert.equal(errors.length, 0, errors.join('\n'));

    // 5. The exports hold exactly these labels.
    const trl = await admin.get('/api/admin/tasks/prefs/export?format=trl');
    assert.deepEqual(JSON.parse(trl.text), { prompt: 'My code does not compile.', chosen: bText, rejected: aText });
    const pairs = await admin.get('/api/admin/tasks/prefs/export?format=raw');
    assert.equal(JSON.parse(pairs.text).value.reason, 'more helpful');
    const ratings = await admin.get('/api/admin/tasks/scores/export?format=ratings');
    assert.deepEqual(JSON.parse(ratings.text), { prompt: 'What is 2 + 2?', response: 'Four.', model: 'sft', coherence: 4, creativity: 5, relevance: 4, fluency: 2, n_ratings: 1 });
  } finally {
    await ctx.close();
  }
});

test('the admin dashboard shows the results and downloads the same export', async () => {
  const { ctx, page, errors } = await freshPage();
  try {
    await page.goto(`${studio.url}/#/signin/${studio.adminToken}`);
    await page.waitForSelector('#nav a[href="#/admin"]');
    await page.goto(`${studio.url}/#/admin/task/scores`);
    await page.waitForSelector('.chart');
    assert.equal(await page.locator('.chart rect.bar').count(), 4, 'one bar per dimension for the one model');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download JSONL')]);
    const file = await download.path();
    assert.ok(file);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8').trim()), { prompt: 'What is 2 + 2?', response: 'Four.', model: 'sft', coherence: 4, creativity: 5, relevance: 4, fluency: 2, n_ratings: 1 });
    await page.waitForSelector('text=1 rows from 1 labels');
    assert.equal(errors.length, 0, errors.join('\n'));
  } finally {
    await ctx.close();
  }
});

test('model output and user text full of HTML is shown as text and never runs', async () => {
  const evil = {
    script: '<script>window.__pwned = "script"</script>',
    img: '<img src=x onerror="window.__pwned = \'img\'">',
    svg: '<svg onload="window.__pwned = \'svg\'"></svg>',
  };
  await admin.post('/api/admin/tasks', {
    task: { name: 'xss', kind: 'pairwise', perItem: 1, title: `Title ${evil.img}`, instructions: `Guidelines ${evil.script}` },
    jsonl: jsonl([{ prompt: `Prompt ${evil.script}`, responses: [{ text: `A says ${evil.img}`, model: `model ${evil.svg}` }, { text: `B says ${evil.svg}`, model: 'plain' }] }]),
  });
  const link = await addPerson(`Mallory ${evil.img}`);
  const { ctx, page, errors } = await freshPage();
  try {
    await page.goto(link);
    await page.waitForSelector('.task-card');
    await page.goto(`${studio.url}/#/label/xss`);
    await page.waitForSelector('.pair');
    const body = await page.textContent('main');
    assert.ok(body!.includes(`Prompt ${evil.script}`), 'the prompt is shown literally');
    assert.ok(body!.includes(`A says ${evil.img}`));
    assert.ok(body!.includes(`B says ${evil.svg}`));
    assert.ok(body!.includes(`Guidelines ${evil.script}`));
    assert.equal(await page.locator('main img, main script, .response svg, .prompt svg').count(), 0, 'no element was created from the text');
    await page.keyboard.press('1');
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=You’re all caught up');
    await page.goto(`${studio.url}/#/mine`);
    await page.waitForSelector('.history-row');
    // The admin looks at the dashboard and people page, where model and person names appear.
    await page.evaluate(() => localStorage.clear());
    await page.goto(`${studio.url}/#/signin/${studio.adminToken}`);
    await page.waitForSelector('#nav a[href="#/admin"]');
    await page.goto(`${studio.url}/#/admin/task/xss`);
    await page.waitForSelector('.matrix');
    assert.ok((await page.textContent('.matrix'))!.includes(`model ${evil.svg}`));
    await page.goto(`${studio.url}/#/admin/people`);
    await page.waitForSelector('.table');
    assert.ok((await page.textContent('.table'))!.includes(`Mallory ${evil.img}`));
    await page.goto(`${studio.url}/#/admin`);
    await page.waitForSelector('.task-card');
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned), undefined, 'nothing ran');
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(errors.length, 0, errors.join('\n'));
  } finally {
    await ctx.close();
  }
});

test('a phone-sized screen can label with taps', async () => {
  await admin.post('/api/admin/tasks', { task: { name: 'phone', kind: 'pairwise', perItem: 1 }, jsonl: jsonl([{ prompt: 'Hi?', responses: ['Hello!', 'Go away.'] }]) });
  const link = await addPerson('Pat');
  const ctx = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  try {
    await page.goto(link);
    await page.goto(`${studio.url}/#/label/phone`);
    await page.waitForSelector('.pair');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
    await page.tap('.choice-tie');
    await page.tap('#submit');
    await page.waitForSelector('text=You’re all caught up');
    const raw = await admin.get('/api/admin/tasks/phone/export?format=raw');
    assert.equal(JSON.parse(raw.text).value.choice, 'tie');
  } finally {
    await ctx.close();
  }
});
