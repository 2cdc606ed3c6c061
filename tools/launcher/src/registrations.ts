import type { AllServicesResponse } from '@grantline/contracts';
import { waitFor } from '@grantline/process-kit';

/**
 * Services print "listening" a moment before the registry lists them; the simulation starts
 * only once every instance is listed, so its first calls find them.
 */
export async function waitForRegistrations(
  registryUrl: string,
  expected: Record<string, number>,
  timeoutMs: number,
): Promise<void> {
  let listed: Record<string, number> = {};
  const everyoneListed = async () => {
    try {
      const response = await fetch(new URL('/services', registryUrl), {
        signal: AbortSignal.timeout(1_000),
      });
      if (!response.ok) return false;
      const body = (await response.json()) as AllServicesResponse;
      listed = Object.fromEntries(
        Object.entries(body.services).map(([type, instances]) => [type, instances.length]),
      );
      return Object.entries(expected).every(([type, count]) => (listed[type] ?? 0) >= count);
    } catch {
      return false; // The registry is starting or busy: ask again.
    }
  };
  try {
    await waitFor('every service to be listed', everyoneListed, timeoutMs, 100);
  } catch {
    const missing = Object.entries(expected)
      .filter(([type, count]) => (listed[type] ?? 0) < count)
      .map(([type, count]) => `${type}: ${listed[type] ?? 0} of ${count}`);
    throw new Error(
      `the registry did not list every service within ${timeoutMs} ms (${missing.join(', ')})`,
    );
  }
}
