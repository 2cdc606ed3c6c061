import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { findBrowser, launchBrowser } from '../src/testing';

// Unpacking the npm Chromium the first time takes a while on a loaded machine.
jest.setTimeout(120_000);

describe('the browser tests find a Chromium without anything installed by hand', () => {
  it('uses the npm Chromium when told to, and it renders a page', async () => {
    const found = await findBrowser({ GRANTLINE_BROWSER: 'npm' });
    expect(found.source).toBe('npm');

    const server = http.createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end(
        '<title>kit</title><p id="p">rendered by script</p><script>document.getElementById("p").textContent += " ok"</script>',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const previous = process.env.GRANTLINE_BROWSER;
    process.env.GRANTLINE_BROWSER = 'npm';
    const browser = await launchBrowser().finally(() => {
      if (previous === undefined) delete process.env.GRANTLINE_BROWSER;
      else process.env.GRANTLINE_BROWSER = previous;
    });
    try {
      // Two contexts one after the other: the package's own `--single-process` flag made the
      // browser die when the first one closed.
      for (const round of [1, 2]) {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(
          `http://127.0.0.1:${(server.address() as AddressInfo).port}/?round=${round}`,
        );
        expect(await page.locator('#p').textContent()).toBe('rendered by script ok');
        await context.close();
      }
    } finally {
      await browser.close();
      server.close();
    }
  });

  it('refuses a CHROMIUM_PATH that does not exist instead of quietly using another browser', async () => {
    await expect(findBrowser({ CHROMIUM_PATH: '/nonexistent/chromium' })).rejects.toThrow(
      'no Chromium at /nonexistent/chromium',
    );
  });

  it('refuses an unknown GRANTLINE_BROWSER', async () => {
    await expect(findBrowser({ GRANTLINE_BROWSER: 'firefox' })).rejects.toThrow(
      'GRANTLINE_BROWSER must be',
    );
  });
});
