/**
 * End to end in a real browser: the registry and three heartbeating instances run as real
 * processes; headless Chromium (the system's, else the one inside the npm package
 * `@sparticuz/chromium`; see `launchBrowser`), driven by playwright-core, watches the dashboard
 * while one instance is SIGKILLed. Needs `npm run build`. Screenshots go to the temp dir, or to
 * docs/ with UPDATE_SCREENSHOTS=1.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser } from '@grantline/service-kit/testing';
import type { Browser, Page } from 'playwright-core';
import { ServiceProcess } from '@grantline/process-kit';
import { registryMain, repoRoot, requireBuilt, startNode, type Started } from './process';

const instanceScript = path.join(__dirname, 'fixtures/heartbeating-instance.js');
const screenshotDir =
  process.env.UPDATE_SCREENSHOTS === '1' ? path.join(repoRoot, 'docs') : path.join(os.tmpdir(), 'grantline-screenshots');

// Heartbeat every 400 ms; late after 600 ms of silence; dropped after 2 s.
const heartbeatIntervalMs = 400;
const ttlMs = 2_000;
const registryToken = 'browser-test-registry-token';

jest.setTimeout(60_000);

describe('registry dashboard in Chromium', () => {
  let registry: Started;
  let browser: Browser | undefined;

  async function startInstance(type: string): Promise<Started> {
    const started = await startNode(instanceScript, type, {
      REGISTRY_URL: registry.url,
      REGISTRY_TOKEN: registryToken,
      SERVICE_TYPE: type,
    });
    return started;
  }

  function row(page: Page, url: string) {
    return page.locator(`tr[data-url="${url}"]`);
  }

  beforeAll(async () => {
    requireBuilt(registryMain);
    requireBuilt(path.join(repoRoot, 'libs/registry-client/dist/index.js'));
    registry = await startNode(registryMain, 'registry', {
      PORT: '0',
      REGISTRY_TOKEN: registryToken,
      HEARTBEAT_INTERVAL_MS: String(heartbeatIntervalMs),
      TTL_MS: String(ttlMs),
    });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await ServiceProcess.killAll();
  });

  it('shows both instances live, marks a SIGKILLed one late, and drops it within the TTL', async () => {
    const agency = await startInstance('agency');
    const dcuA = await startInstance('dcu');
    const dcuB = await startInstance('dcu');

    const context = await browser!.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('requestfailed', (request) => pageErrors.push(`request failed: ${request.url()}`));
    await page.goto(`${registry.url}/`);

    await expectRow(page, dcuA.url, 'live');
    await expectRow(page, dcuB.url, 'live');
    await expectRow(page, agency.url, 'live');
    await page.locator('section[data-type="dcu"] h2').getByText('2 instances').waitFor();
    expect(await page.locator('h1').textContent()).toBe('Grantline registry');
    expect(await page.locator('#status').getAttribute('data-state')).toBe('ok');

    const killedAt = Date.now();
    dcuB.service.signal('SIGKILL');
    // Late first (after 1.5 heartbeat intervals of silence) …
    await expectRow(page, dcuB.url, 'late', ttlMs);
    await expectRow(page, dcuA.url, 'live');
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: path.join(screenshotDir, 'dashboard.png'), fullPage: true });

    // … then gone: the registry stops listing it ttlMs after its last heartbeat, and the page
    // polls once per heartbeat interval (plus slack for a loaded machine).
    await row(page, dcuB.url).waitFor({ state: 'detached', timeout: ttlMs + heartbeatIntervalMs + 3_000 });
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(heartbeatIntervalMs);
    await expectRow(page, dcuA.url, 'live');
    await page.locator('section[data-type="dcu"] h2').getByText('1 instance').waitFor();
    expect(await page.locator('#announcer').textContent()).toContain(`${dcuB.url} left`);
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('fits a phone screen without sideways scrolling', async () => {
    await startInstance('agency');
    const context = await browser!.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    const page = await context.newPage();
    await page.goto(`${registry.url}/`);
    await page.locator('tr[data-state="live"]').first().waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    // The table becomes labelled cards: headers hidden, each cell says what it is.
    expect(await page.locator('thead').first().isVisible()).toBe(false);
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: path.join(screenshotDir, 'dashboard-phone.png'), fullPage: true });
    await context.close();
  });

  it('can be used with the keyboard, and focus survives the live updates', async () => {
    await startInstance('dcu');
    const context = await browser!.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    await page.goto(`${registry.url}/`);
    const firstInstanceLink = page.locator('td.url a').first();
    await firstInstanceLink.waitFor();
    const href = await firstInstanceLink.getAttribute('href');
    // Tab until an instance link has focus (bounded).
    for (let presses = 0; presses < 20; presses++) {
      await page.keyboard.press('Tab');
      if ((await focusedHref(page)) === href) break;
    }
    expect(await focusedHref(page)).toBe(href);
    // After a few polls the same link still has focus.
    const updatedBefore = await page.locator('#status').textContent();
    await page.locator('#status').filter({ hasNotText: updatedBefore ?? '' }).waitFor({ timeout: 10_000 });
    expect(await focusedHref(page)).toBe(href);
    await context.close();
  });

  it('stays usable with 3,000 instances: collapsed per type, a filter, and changes shown by watching', async () => {
    // A registry of its own with a long TTL, so 3,000 instances stay listed without heartbeats.
    const big = await startNode(registryMain, 'registry', {
      PORT: '0',
      REGISTRY_TOKEN: registryToken,
      HEARTBEAT_INTERVAL_MS: '1000',
      TTL_MS: '600000',
    });
    const register = async (type: string, port: number) => {
      const response = await fetch(`${big.url}/register`, {
        method: 'POST',
        headers: { authorization: `Bearer ${registryToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type, url: `http://127.0.0.1:${port}` }),
      });
      expect(response.status).toBe(201);
    };
    const ports = Array.from({ length: 3_000 }, (_, index) => 10_000 + index);
    for (let start = 0; start < ports.length; start += 100) {
      await Promise.all(
        ports.slice(start, start + 100).map((port) => register(port % 3 === 0 ? 'bulk-b' : port % 3 === 1 ? 'bulk-c' : 'bulk-a', port)),
      );
    }

    const context = await browser!.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${big.url}/`);
    await page.locator('#totals').getByText('3,000 instances in 3 types').waitFor();
    // Large types start collapsed: their rows are not even in the page.
    expect(await page.locator('section[data-type="bulk-a"] details').getAttribute('open')).toBeNull();
    expect(await page.locator('tr[data-url]').count()).toBe(0);
    await page.locator('section[data-type="bulk-a"] h2').getByText('1,000 instances').waitFor();

    // Opening one shows a bounded number of rows and says how many more there are.
    await page.locator('section[data-type="bulk-a"] summary').click();
    await page.locator('section[data-type="bulk-a"] .more').getByText('Showing 200 of 1,000').waitFor();
    expect(await page.locator('section[data-type="bulk-a"] tr[data-url]').count()).toBe(200);

    // The filter finds one instance among all of them.
    await page.locator('#filter').fill('127.0.0.1:12345');
    await page.locator('#totals').getByText('1 of 3,000 instances match').waitFor();
    // (Late: these stand-ins never heartbeat; the long TTL keeps them listed.)
    await expectRow(page, 'http://127.0.0.1:12345', 'late');
    expect(await page.locator('tr[data-url]').count()).toBe(1);
    expect(await page.locator('section[data-type="bulk-a"]').isHidden()).toBe(true);

    // A new instance shows up through the page's watch (its periodic re-read is 5 s apart here).
    await page.locator('#filter').fill('127.0.0.1:19999');
    await register('bulk-new', 19_999);
    await row(page, 'http://127.0.0.1:19999').waitFor();
    await page.locator('#totals').getByText('1 of 3,001 instances match').waitFor();
    mkdirSync(screenshotDir, { recursive: true });
    await page.locator('#filter').fill('');
    await page.locator('#totals').getByText('3,001 instances in 4 types').waitFor();
    // The type the user opened stays open; the others stay collapsed.
    await page.locator('section[data-type="bulk-a"] .more').getByText('Showing 200 of 1,000').waitFor();
    expect(await page.locator('section[data-type="bulk-b"] details').getAttribute('open')).toBeNull();
    await page.screenshot({ path: path.join(screenshotDir, 'dashboard-3000.png') });
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});

async function expectRow(page: Page, url: string, state: 'live' | 'late', timeout = 10_000): Promise<void> {
  await page.locator(`tr[data-url="${url}"][data-state="${state}"]`).waitFor({ timeout });
}

// Page code is passed as strings: this project's TypeScript has no DOM library.
function focusedHref(page: Page): Promise<string | null> {
  return page.evaluate<string | null>("document.activeElement && document.activeElement.getAttribute('href')");
}
