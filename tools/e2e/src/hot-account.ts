import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { OpenAccountResponse } from '@grantline/contracts';
import type { ServiceProcess } from '@grantline/process-kit';
import type { GrantlineSystem } from './system';

/** One JSON answer: its status and parsed body. */
export interface JsonAnswer {
  statusCode: number;
  body: unknown;
}

/** A GET (no body) or a JSON POST to a service, with a deadline so a paused peer cannot hang a test. */
export async function callJson(
  url: string,
  pathname: string,
  headers: Record<string, string>,
  body?: unknown,
  timeoutMs = 60_000,
): Promise<JsonAnswer> {
  const response = await fetch(new URL(pathname, url), {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { statusCode: response.status, body: (await response.json()) as unknown };
}

/** A running system's two DCUs and one account opened at the first, for the lock tests. */
export interface HotAccount {
  /** The DCU the test writes to and then pauses or kills. */
  victim: ServiceProcess;
  /** The other DCU, on the same account folder. */
  survivor: ServiceProcess;
  accountId: string;
  /** The owner's authorization header. */
  owner: { authorization: string };
  /** The account's cross-process lock: there while a DCU holds the account. */
  lockPath: string;
}

/** Opens one account with 500,000.00 at the first of `system`'s two DCUs (already started). */
export async function openHotAccount(
  system: GrantlineSystem,
  timeoutMs?: number,
): Promise<HotAccount> {
  const [victim, survivor] = system.dcus as [ServiceProcess, ServiceProcess];
  const opened = await callJson(
    victim.url!,
    '/accounts',
    { authorization: `Bearer ${system.secrets.SERVICE_TOKEN}` },
    {
      proposalId: randomUUID(),
      title: 'Hot account',
      investigator: 'Ada Lovelace',
      amountCents: 50_000_000,
      durationDays: 3650,
    },
    timeoutMs,
  );
  if (opened.statusCode !== 201) {
    throw new Error(
      `opening the hot account answered ${opened.statusCode}: ${JSON.stringify(opened.body)}`,
    );
  }
  const { accountId, ownerKey } = opened.body as OpenAccountResponse;
  return {
    victim,
    survivor,
    accountId,
    owner: { authorization: `Bearer ${ownerKey}` },
    lockPath: path.join(system.accountDir, `${accountId}.lock`),
  };
}

/**
 * Runs `act` (a signal to the holder) the moment `lockPath` exists, checked and acted on in the
 * same tick so the holder cannot let go in between. Resolves to when it acted, or 0 when the
 * lock never showed within `tries` turns of the event loop.
 */
export async function actWhileLocked(
  lockPath: string,
  act: () => void,
  tries: number,
): Promise<number> {
  for (let tried = 0; tried < tries; tried++) {
    if (existsSync(lockPath)) {
      act();
      return Date.now();
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return 0;
}
