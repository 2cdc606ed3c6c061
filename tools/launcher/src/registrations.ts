import type { AllServicesResponse } from '@grantline/contracts';

/**
 * Services print "listening" a moment before the registry lists them; the simulation starts
 * only once every instance is listed, so its first calls find them.
 */
export async function waitForRegistrations(
  registryUrl: string,
  expected: Record<string, number>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let listed: Record<string, number> = {};
  while (Date.now() < deadline) {
    try {
      const response = await fetch(new URL('/services', registryUrl), {
        signal: AbortSignal.timeout(1_000),
      });
      if (response.ok) {
        const body = (await response.json()) as AllServicesResponse;
        listed = Object.fromEntries(
          Object.entries(body.services).map(([type, instances]) => [type, instances.length]),
        );
        if (Object.entries(expected).every(([type, count]) => (listed[type] ?? 0) >= count)) return;
      }
    } catch {
      // The registry is starting or busy: ask again.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const missing = Object.entries(expected)
    .filter(([type, count]) => (listed[type] ?? 0) < count)
    .map(([type, count]) => `${type}: ${listed[type] ?? 0} of ${count}`);
  throw new Error(
    `the registry did not list every service within ${timeoutMs} ms (${missing.join(', ')})`,
  );
}
