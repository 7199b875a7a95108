// Takes screenshots of every studio page (desktop, dark mode and a 375 px phone) into
// /tmp/studio-shots/, for a person to look at. Not a test: run it with
//   node --import tsx test/feedback/screenshots.ts [OUT_DIR]
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { EDIT_ITEMS, PAIRWISE_ITEMS, RANKING_ITEMS, RATING_ITEMS, client, jsonl, labelNext, testStudio } from './helpers.js';

const out = process.argv[2] ?? '/tmp/studio-shots';
mkdirSync(out, { recursive: true });

const studio = await testStudio();
const admin = client(studio.url, studio.adminToken);
const longer = [...PAIRWISE_ITEMS, ...PAIRWISE_ITEMS.map((p, i) => ({ ...p, id: `${p.id}-b${i}` })), ...PAIRWISE_ITEMS.map((p, i) => ({ ...p, id: `${p.id}-c${i}` }))];
await admin.post('/api/admin/tasks', { task: { name: 'helpful-v1', kind: 'pairwise', title: 'Which answer is more helpful?', perItem: 2, instructions: 'Prefer the answer that is correct, complete and kind. Use “both bad” when neither would help the person asking.' }, jsonl: jsonl(longer) });
await admin.post('/api/admin/tasks', { task: { name: 'summaries', kind: 'rating', title: 'Rate the summaries', perItem: 2 }, jsonl: jsonl([...RATING_ITEMS, ...RATING_ITEMS, ...RATING_ITEMS, ...RATING_ITEMS, ...RATING_ITEMS]) });
await admin.post('/api/admin/tasks', { task: { name: 'titles', kind: 'ranking', title: 'Rank the blog titles', perItem: 2 }, jsonl: jsonl([...RANKING_ITEMS, ...RANKING_ITEMS, ...RANKING_ITEMS, ...RANKING_ITEMS]) });
await admin.post('/api/admin/tasks', { task: { name: 'demos', kind: 'edit', title: 'Write better replies', perItem: 1 }, jsonl: jsonl(EDIT_ITEMS) });
const people: string[] = [];
for (const name of ['Ada', 'Grace', 'Alan']) {
  const r = await admin.post<{ token: string }>('/api/admin/users', { name });
  people.push(r.body.token);
}
// Some labels so the dashboard has something to show.
const choices = ['A', 'B', 'A', 'tie', 'B', 'both_bad'];
for (const [i, token] of people.slice(1).entries()) {
  const c = client(studio.url, token);
  for (let n = 0; n < 6; n++) await labelNext(c, 'helpful-v1', () => ({ choice: choices[(n + i) % choices.length] }));
  for (let n = 0; n < 5; n++) await labelNext(c, 'summaries', () => ({ scores: { coherence: 3 + ((n + i) % 3), creativity: 2 + (n % 4), relevance: 4 + (n % 2), fluency: 5 - (n % 3) } }));
  for (let n = 0; n < 2; n++) await labelNext(c, 'titles', (item) => ({ ranking: item.responses.map((r) => r.letter).reverse() }));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function shoot(page: Page, name: string, full = true): Promise<void> {
  await page.waitForTimeout(350);
  await page.screenshot({ path: `${out}/${name}.png`, fullPage: full });
  process.stdout.write(`${out}/${name}.png\n`);
}

try {
  for (const scheme of ['light', 'dark'] as const) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: scheme, deviceScaleFactor: 1 });
    const page = await ctx.newPage();
    const sfx = scheme === 'dark' ? '-dark' : '';
    await page.goto(studio.url);
    await page.waitForSelector('.signin-card');
    await shoot(page, `01-signin${sfx}`, false);
    await page.goto(`${studio.url}/#/signin/${people[0]}`);
    await page.waitForSelector('.task-card');
    await shoot(page, `02-tasks${sfx}`);
    await page.goto(`${studio.url}/#/label/helpful-v1`);
    await page.waitForSelector('.pair');
    await page.keyboard.press('2');
    await shoot(page, `03-pairwise${sfx}`);
    if (scheme === 'light') {
      await page.keyboard.press('Enter');
      await page.waitForTimeout(300);
      await page.goto(`${studio.url}/#/label/summaries`);
      await page.waitForSelector('.scales');
      await page.keyboard.press('4');
      await page.keyboard.press('3');
      await shoot(page, '04-rating');
      await page.goto(`${studio.url}/#/label/titles`);
      await page.waitForSelector('.ranking');
      await page.keyboard.press('ArrowDown');
      await shoot(page, '05-ranking');
      await page.goto(`${studio.url}/#/label/demos`);
      await page.waitForSelector('.editor');
      await shoot(page, '06-edit');
      await page.keyboard.press('Escape');
      await page.keyboard.press('?');
      await shoot(page, '07-help', false);
      await page.keyboard.press('Escape');
      await page.goto(`${studio.url}/#/mine`);
      await page.waitForSelector('.history, .empty');
      await shoot(page, '08-mine');
    }
    await page.evaluate(() => localStorage.clear());
    await page.goto(`${studio.url}/#/signin/${studio.adminToken}`);
    await page.waitForSelector('#nav a[href="#/admin"]');
    await page.goto(`${studio.url}/#/admin`);
    await page.waitForSelector('.task-card');
    await shoot(page, `09-dashboard${sfx}`);
    await page.goto(`${studio.url}/#/admin/task/summaries`);
    await page.waitForSelector('.chart');
    await shoot(page, `10-task-ratings${sfx}`);
    if (scheme === 'light') {
      await page.goto(`${studio.url}/#/admin/task/helpful-v1`);
      await page.waitForSelector('.matrix');
      await shoot(page, '11-task-pairwise');
      await page.goto(`${studio.url}/#/admin/new`);
      await page.waitForSelector('.kinds');
      await shoot(page, '12-new-task');
      await page.goto(`${studio.url}/#/admin/people`);
      await page.waitForSelector('.add-person');
      await page.fill('.add-person input', 'Barbara');
      await page.click('.add-person button');
      await page.waitForSelector('.link-box');
      await shoot(page, '13-people');
    }
    await ctx.close();
  }
  // A phone: 375 px wide.
  const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  await page.goto(`${studio.url}/#/signin/${people[1]}`);
  await page.waitForSelector('.task-card');
  await shoot(page, '20-phone-tasks');
  await page.goto(`${studio.url}/#/label/helpful-v1`);
  await page.waitForSelector('.pair');
  await page.click('.choice-A');
  await shoot(page, '21-phone-pairwise', false);
  await shoot(page, '21-phone-pairwise-full');
  await page.goto(`${studio.url}/#/label/summaries`);
  await page.waitForSelector('.scales, .empty');
  await shoot(page, '22-phone-rating');
  await page.evaluate(() => localStorage.clear());
  await page.goto(`${studio.url}/#/signin/${studio.adminToken}`);
  await page.waitForSelector('.task-card');
  await page.goto(`${studio.url}/#/admin/task/summaries`);
  await page.waitForSelector('.chart');
  await shoot(page, '23-phone-dashboard');
  await phone.close();
} finally {
  await browser.close();
  await studio.stop();
}
