/**
 * The agency's live page in a real browser (headless Chromium through `launchBrowser`: the
 * system's, else the one inside the npm package `@sparticuz/chromium`): the budget bar and the
 * latest decisions update in place as proposals are decided and an account is closed out.
 */
import { launchBrowser } from '@grantline/service-kit/testing';
import { listeningUrl } from '@grantline/service-kit';
import type { Browser } from 'playwright-core';
import { buildAgencyApp } from '../src/app';
import { MemoryAgencyStore } from '../src/storage/memory-store';
import { serviceToken, startFakeDcu, startFakeRegistry } from './fakes';

jest.setTimeout(90_000);

const proposal = { title: 'Lichen clocks', investigator: 'Dr. Noor Haddad', amountCents: 40_000_000, durationDays: 30 };

describe('the agency page in Chromium', () => {
  let browser: Browser | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];

  afterAll(async () => {
    await browser?.close();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('shows the budget as a bar and the latest decisions, updated in place', async () => {
    const registry = await startFakeRegistry();
    const dcu = await startFakeDcu();
    registry.list('dcu', [dcu.url]);
    const client = registry.client();
    const app = await buildAgencyApp({
      registry: client,
      serviceToken,
      budgetCents: 100_000_000,
      store: new MemoryAgencyStore(),
      fastify: { logger: false },
    });
    cleanups.push(() => registry.close(), () => dcu.close(), () => client.close(), () => app.close());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = listeningUrl(app);
    const submit = (key: string) =>
      app.inject({ method: 'POST', url: '/proposals', payload: proposal, headers: { 'idempotency-key': key } });

    browser = await launchBrowser();
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${url}/`);
    await page.locator('#no-decisions').waitFor({ state: 'visible' });
    await page.locator('#total', { hasText: '€1,000,000.00' }).waitFor();
    expect(await page.locator('#available').textContent()).toBe('€1,000,000.00');

    const first = (await submit('page-1')).json();
    await page.locator(`tr[data-proposal-id="${first.proposalId}"]`).waitFor();
    // The row stays the same element from now on: updates happen in place.
    const row = await page.locator(`tr[data-proposal-id="${first.proposalId}"]`).elementHandle();
    await submit('page-2');
    await submit('page-3');
    await page.locator('#available', { hasText: '€200,000.00' }).waitFor();
    expect(await page.locator('#committed').textContent()).toBe('€800,000.00');
    expect(await page.locator('#bar-outstanding').getAttribute('style')).toMatch(/width: 80(\.00)?%/);
    expect(await page.locator('#bar').getAttribute('aria-label')).toBe(
      'Budget €1,000,000.00: €800,000.00 outstanding, €200,000.00 available',
    );
    expect(await page.locator('tbody tr').count()).toBe(3);
    expect(await page.locator('tbody tr').first().locator('.badge').textContent()).toBe('rejected');

    await app.inject({
      method: 'POST',
      url: '/closeouts',
      headers: { authorization: `Bearer ${serviceToken}` },
      payload: { proposalId: first.proposalId, accountId: first.accountId, returnedCents: 10_000_000 },
    });
    await page.locator(`tr[data-proposal-id="${first.proposalId}"] .badge`, { hasText: 'closed' }).waitFor();
    await page.locator('#returned', { hasText: '€100,000.00' }).waitFor();
    expect(await page.locator('#available').textContent()).toBe('€300,000.00');
    expect(await row?.evaluate((node) => node.isConnected)).toBe(true);
    expect(await page.locator('#announcer').getAttribute('aria-live')).toBe('polite');
    expect(pageErrors).toEqual([]);
  });
});
