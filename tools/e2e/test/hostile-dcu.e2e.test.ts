import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { registrationTokenFor } from '@grantline/contracts';
import { RegistryClient } from '@grantline/registry-client';
import { request } from 'undici';
import { GrantlineSystem, waitFor, listedUrls } from '../src';

/**
 * Hostile DCUs (API.md, "Trust between services"): HTTP servers that register as DCUs (with
 * the dcu registration token, as a thief of it could) and then flood, drip, lie or hang.
 * The registry, the agency and a real DCU are real processes. Every proposal must end within
 * the agency's deadline, fail over to the real DCU when it is listed, never hand a client
 * the fake's account or URL, and the agency's memory must not grow with what a fake offers.
 */

const PEER_TIMEOUT_MS = 1_500;
/** The agency's deadline for opening one account, across every DCU it tries. */
const AGENCY_DEADLINE_MS = 15_000;
const FLOOD_BYTES = 200 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'x');

type Kind = 'flood' | 'drip' | 'hang' | 'lie';

/** A fake DCU on 127.0.0.1 that answers every POST /accounts the way its kind says. */
class FakeDcu {
  readonly proposals = new Set<string>();
  /** Flood answers begun (each offers 200 MiB), and the bytes that left before the agency hung up. */
  floodAnswers = 0;
  pushedBytes = 0;
  /** Account ids and owner keys it made up: no client may ever see one. */
  readonly lies = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: http.Server;
  private answered = 0;
  url = '';

  constructor(readonly kind: Kind) {
    this.server = http.createServer((req, res) => this.answer(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string') this.proposals.add(key);
    req.resume();
    switch (this.kind) {
      case 'flood':
        return this.flood(res);
      case 'drip': {
        // Headers at once, then a byte every 300 ms: never idle long enough for an idle timeout.
        res.writeHead(201, { 'content-type': 'application/json' });
        res.write('{');
        const timer = setInterval(() => res.write(' '), 300);
        this.timers.add(timer);
        res.once('close', () => clearInterval(timer));
        return;
      }
      case 'hang':
        return; // reads the request, never answers
      case 'lie':
        return this.lie(res);
    }
  }

  /** 200 MB offered per answer, chunked (no length to refuse it by), as fast as it is read. */
  private flood(res: http.ServerResponse): void {
    res.writeHead(201, { 'content-type': 'application/json' });
    this.floodAnswers += 1;
    let offered = 0;
    const pump = () => {
      while (!res.destroyed && offered < FLOOD_BYTES) {
        offered += CHUNK.length;
        const more = res.write(CHUNK, (error) => {
          if (!error) this.pushedBytes += CHUNK.length;
        });
        if (!more) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  }

  /** In turn: one account id for every proposal, its own dcuUrl, and a body that is not JSON. */
  private lie(res: http.ServerResponse): void {
    const ownerKey = `fake-owner-key-${randomUUID()}`;
    this.lies.add(ownerKey);
    const variant = this.answered++ % 3;
    res.writeHead(201, { 'content-type': 'application/json' });
    if (variant === 0) {
      this.lies.add(SHARED_FAKE_ACCOUNT);
      res.end(JSON.stringify({ accountId: SHARED_FAKE_ACCOUNT, ownerKey }));
    } else if (variant === 1) {
      const accountId = randomUUID();
      this.lies.add(accountId);
      res.end(JSON.stringify({ accountId, ownerKey, dcuUrl: this.url }));
    } else {
      res.end('{"accountId": "00000000-0000-4000-8000-0000000000');
    }
  }
}

const SHARED_FAKE_ACCOUNT = '11111111-2222-4333-8444-555555555555';

/** Peak resident memory of a process (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(match[1]) * 1024;
}

describe('hostile DCUs registered in a real registry', () => {
  const system = new GrantlineSystem({
    agencies: 1,
    dcus: 0,
    heartbeatIntervalMs: 300,
    env: { agency: { PEER_TIMEOUT_MS: String(PEER_TIMEOUT_MS) } },
  });
  const fakes: FakeDcu[] = [];
  const clients: RegistryClient[] = [];
  /** Every answer any client got from the agency, to search for the fakes' lies afterwards. */
  const answers: string[] = [];
  let agencyPid: number;
  let peakBefore: number;

  beforeAll(async () => {
    await system.start();
    agencyPid = system.agencies[0]!.pid!;
    peakBefore = peakRss(agencyPid);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(fakes.map((fake) => fake.close()));
    await system.destroy();
  }, 30_000);

  const dcuToken = () => registrationTokenFor(system.secrets.REGISTRY_TOKEN, 'dcu');

  /** Starts a fake of `kind` and keeps it listed as a DCU; returns it and how to take it away. */
  async function registerFake(kind: Kind) {
    const fake = await new FakeDcu(kind).start();
    fakes.push(fake);
    const client = new RegistryClient({ registryUrl: system.registryUrls, registryToken: dcuToken() });
    clients.push(client);
    expect(await client.join('dcu', fake.url).registered(10_000)).toBe(true);
    const leave = async () => {
      await client.close();
      await fake.close();
      await waitFor('the fake to be unlisted', async () => !((await listedUrls(system.registryUrl))?.dcu ?? []).includes(fake.url), 10_000);
    };
    return { fake, leave };
  }

  /** One proposal, timed; its answer is kept for the final search. */
  async function propose() {
    const started = Date.now();
    const response = await request(`${system.liveUrls().agency[0]}/proposals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ title: 'Hostile peers', investigator: 'Prof. Ada', amountCents: 40_000_000, durationDays: 30 }),
    });
    const text = await response.body.text();
    answers.push(text);
    return { status: response.statusCode, body: JSON.parse(text) as Record<string, unknown>, ms: Date.now() - started };
  }

  it('refuses the agency type token to anyone who registers a DCU with it', async () => {
    const response = await request(`${system.registryUrl}/register`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${registrationTokenFor(system.secrets.REGISTRY_TOKEN, 'agency')}`,
      },
      body: JSON.stringify({ type: 'dcu', url: 'http://127.0.0.1:1' }),
    });
    expect(response.statusCode).toBe(403);
    await response.body.dump();
  });

  // First each fake alone (no real DCU listed yet), then each beside a real DCU.
  describe.each<Kind>(['flood', 'drip', 'lie', 'hang'])('a DCU that %ss', (kind) => {
    it('alone: every proposal ends within the deadline with an error, and no account', async () => {
      const { fake, leave } = await registerFake(kind);
      try {
        // Until the agency has sent the fake two proposals (it learns of it within a moment, or
        // a second when the list it knew had just emptied: its client re-reads such a list).
        const until = Date.now() + 30_000;
        while (fake.proposals.size < 2) {
          expect(Date.now()).toBeLessThan(until);
          const answer = await propose();
          expect(answer.ms).toBeLessThan(AGENCY_DEADLINE_MS + 2_000);
          expect([502, 503]).toContain(answer.status);
          expect(answer.body.accountId).toBeUndefined();
          if (answer.status === 503) await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        await leave();
      }
    }, 120_000);

  });

  describe.each<Kind>(['flood', 'drip', 'lie', 'hang'])('a DCU that %ss', (kind) => {
    it('beside a real DCU: every proposal fails over to it and is funded there', async () => {
      if (system.dcus.length === 0) {
        system.startService('dcu');
        await system.dcus[0]!.waitForListening();
        await system.waitUntilListed({ dcu: system.liveUrls().dcu }, 15_000);
      }
      const realDcu = system.liveUrls().dcu[0]!;
      // First the agency must know the real DCU (its list may lag a second behind the registry).
      await waitFor(
        'the agency to fund a proposal at the real DCU',
        async () => {
          const answer = await propose();
          return answer.status === 201 && answer.body.dcuUrl === realDcu;
        },
        30_000,
        100,
      );
      const { fake, leave } = await registerFake(kind);
      try {
        // Until the fake has been asked first at least once (then the agency avoids it a while).
        const until = Date.now() + 60_000;
        while (fake.proposals.size < 1) {
          expect(Date.now()).toBeLessThan(until);
          const answer = await propose();
          expect(answer.ms).toBeLessThan(AGENCY_DEADLINE_MS + 2_000);
          expect(answer.status).toBe(201);
          expect(answer.body).toMatchObject({ status: 'accepted', dcuUrl: realDcu });
          // The account really is at the real DCU, and the owner key opens it.
          const account = await request(`${realDcu}/accounts/${String(answer.body.accountId)}`, {
            headers: { authorization: `Bearer ${String(answer.body.ownerKey)}` },
          });
          expect(account.statusCode).toBe(200);
          await account.body.dump();
        }
      } finally {
        await leave();
      }
    }, 120_000);
  });

  it('never handed a client a fake URL, account or owner key', () => {
    const everything = answers.join('\n');
    for (const fake of fakes) {
      expect(everything).not.toContain(fake.url);
      for (const lie of fake.lies) expect(everything).not.toContain(lie);
    }
    expect(fakes.some((fake) => fake.kind === 'lie' && fake.lies.size > 0)).toBe(true);
  });

  it("kept the agency's memory flat while floods offered gigabytes", () => {
    const floods = fakes.filter((fake) => fake.kind === 'flood');
    const answers = floods.reduce((sum, fake) => sum + fake.floodAnswers, 0);
    const pushed = floods.reduce((sum, fake) => sum + fake.pushedBytes, 0);
    const growth = peakRss(agencyPid) - peakBefore;
    console.log(
      `hostile DCUs: ${answers} flood answers offered ${answers * 200} MiB (200 MiB each); ` +
        `${(pushed / 2 ** 20).toFixed(1)} MiB left the fakes before the agency hung up; ` +
        `agency peak RSS ${(peakBefore / 2 ** 20).toFixed(0)} -> ${(peakRss(agencyPid) / 2 ** 20).toFixed(0)} MiB ` +
        `(+${(growth / 2 ** 20).toFixed(1)} MiB)`,
    );
    // Every flood answer offered 200 MiB, so one buffered read would have shown; the agency
    // hung up on each after its 1 MiB cap (plus what the sockets held).
    expect(answers).toBeGreaterThanOrEqual(2);
    expect(pushed / answers).toBeLessThan(16 * 2 ** 20);
    // Half of one flood answer: a buffered read of any of them would have shown.
    expect(growth).toBeLessThan(100 * 2 ** 20);
    // And no log line of the agency carries a peer's body at length.
    const longest = Math.max(...system.agencies[0]!.lines.map((line) => line.length));
    expect(longest).toBeLessThan(4_096);
  });
});
