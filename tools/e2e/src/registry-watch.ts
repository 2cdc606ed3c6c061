import type { AllServicesResponse, ServiceInstance } from '@grantline/contracts';
import { sleep, waitFor } from '@grantline/process-kit';

/** What the registry lists right now, or undefined when it does not answer. */
export async function listedServices(
  registryUrl: string,
): Promise<Record<string, ServiceInstance[]> | undefined> {
  try {
    const response = await fetch(new URL('/services', registryUrl), {
      signal: AbortSignal.timeout(1_000),
    });
    if (!response.ok) return undefined;
    return ((await response.json()) as AllServicesResponse).services;
  } catch {
    return undefined;
  }
}

/** The URLs listed for every type, e.g. { dcu: ['http://127.0.0.1:4100'], agency: [...] }. */
export async function listedUrls(
  registryUrl: string,
): Promise<Record<string, string[]> | undefined> {
  const services = await listedServices(registryUrl);
  if (!services) return undefined;
  return Object.fromEntries(
    Object.entries(services).map(([type, instances]) => [type, instances.map((i) => i.url)]),
  );
}

export interface Disappearance {
  url: string;
  /** When the instance was killed (ms since the epoch, this process's clock). */
  killedAt: number;
  /** The last `lastHeartbeatAt` the registry showed for it (undefined if never seen after the kill). */
  lastHeartbeatAt: number | undefined;
  /** The first poll that no longer found it. */
  goneAt: number;
  /** goneAt - killedAt */
  msAfterKill: number;
  /** goneAt - lastHeartbeatAt: what API.md bounds by ttlMs + heartbeatIntervalMs. */
  msAfterLastHeartbeat: number | undefined;
}

/**
 * Watches the registry until the instance at `url` is no longer listed. Polls every `everyMs`,
 * so the measured times are late by at most that much (plus one request).
 */
export async function watchDisappearance(
  registryUrl: () => string,
  type: string,
  url: string,
  killedAt: number,
  timeoutMs: number,
  everyMs = 20,
  /** The lastHeartbeatAt read just before the kill, if the instance was listed then. */
  lastHeartbeatBeforeKill?: number,
): Promise<Disappearance> {
  let lastHeartbeatAt = lastHeartbeatBeforeKill;
  await waitFor(
    `${url} to leave the registry`,
    async () => {
      const services = await listedServices(registryUrl());
      if (!services) return false; // the registry is restarting: ask again
      const listed = (services[type] ?? []).find((instance) => instance.url === url);
      if (listed) {
        lastHeartbeatAt = Date.parse(listed.lastHeartbeatAt);
        return false;
      }
      return true;
    },
    timeoutMs,
    everyMs,
  );
  const at = Date.now();
  return {
    url,
    killedAt,
    lastHeartbeatAt,
    goneAt: at,
    msAfterKill: at - killedAt,
    msAfterLastHeartbeat: lastHeartbeatAt === undefined ? undefined : at - lastHeartbeatAt,
  };
}

/** An instance that was running but missing from the registry's list for a while. */
export interface Absence {
  url: string;
  fromMs: number;
  toMs: number;
}

/**
 * Watches that every instance `expected()` names stays listed, polling every `everyMs` until
 * `stop` aborts; `paused()` excuses moments such as a registry restart. Returns the absences.
 */
export async function watchPresence(
  registryUrl: () => string,
  expected: () => Record<string, string[]>,
  paused: () => boolean,
  stop: AbortSignal,
  everyMs = 100,
): Promise<Absence[]> {
  const open = new Map<string, number>();
  const absences: Absence[] = [];
  while (!stop.aborted) {
    await sleep(everyMs);
    if (paused()) {
      open.clear();
      continue;
    }
    const listed = await listedUrls(registryUrl());
    if (!listed || paused()) continue;
    const now = Date.now();
    const wanted = new Set<string>();
    for (const [type, urls] of Object.entries(expected())) {
      for (const url of urls) {
        wanted.add(url);
        const present = (listed[type] ?? []).includes(url);
        if (!present && !open.has(url)) open.set(url, now);
        if (present && open.has(url)) {
          absences.push({ url, fromMs: open.get(url)!, toMs: now });
          open.delete(url);
        }
      }
    }
    for (const url of [...open.keys()]) if (!wanted.has(url)) open.delete(url);
  }
  for (const [url, fromMs] of open) absences.push({ url, fromMs, toMs: Date.now() });
  return absences;
}
