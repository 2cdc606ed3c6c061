import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileAgencyStore } from '../src/storage/file-store';
import { StorageUnavailableError } from '../src/storage/store';

const P1 = '6713b17b-babd-5b11-8a13-7418f14cdc6f';
const P2 = '0b87c737-e027-5b6f-9439-b31b6a0a9a83';
const terms = { title: 'Soil', investigator: 'Ada', amountCents: 40_000_000, durationDays: 30 };
const NOW = '2026-01-01T00:00:00.000Z';

let dir: string;
const open: FileAgencyStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'agency-store-'));
});

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function openStore(): Promise<FileAgencyStore> {
  const store = new FileAgencyStore({ directory: dir });
  await store.start();
  open.push(store);
  return store;
}

const journal = () => path.join(dir, 'journal.ndjson');
const submit = (proposalId: string) => ({ type: 'submit' as const, proposalId, terms, totalCents: 100_000_000, owner: 'a', now: NOW });

describe('the agency journal in AGENCY_DIR', () => {
  it('keeps every acknowledged decision across a restart, one checksummed line per command', async () => {
    const store = await openStore();
    await store.execute(submit(P1));
    await store.execute({ type: 'confirm', proposalId: P1, accountId: P2, now: NOW });
    await store.close();
    open.pop();
    const lines = readFileSync(journal(), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^[0-9a-f]{64} \[/);
    const again = await openStore();
    expect(await again.proposal(P1)).toMatchObject({ status: 'accepted', accountId: P2 });
    expect(await again.budget()).toEqual({ committedCents: 40_000_000, returnedCents: 0 });
  });

  it('sees what another instance on the folder wrote, without restarting', async () => {
    const [a, b] = [await openStore(), await openStore()];
    await a.execute(submit(P1));
    expect(await b.proposal(P1)).toMatchObject({ status: 'pending' });
    await b.execute(submit(P2));
    expect(await a.budget()).toEqual({ committedCents: 80_000_000, returnedCents: 0 });
  });

  it('folds every line once while reads and writes interleave', async () => {
    const store = await openStore();
    const ids = Array.from({ length: 20 }, (_, index) => `6713b17b-babd-5b11-8a13-${String(index).padStart(12, '0')}`);
    let writing = true;
    const reader = async () => {
      while (writing) {
        await store.budget();
        await new Promise((resolve) => setImmediate(resolve)); // let the writes' I/O complete
      }
    };
    const readers = [reader(), reader(), reader()];
    try {
      await Promise.all(ids.map((id) => store.execute({ ...submit(id), totalCents: null })));
    } finally {
      writing = false;
      await Promise.all(readers);
    }
    expect(await store.budget()).toEqual({ committedCents: 800_000_000, returnedCents: 0 });
    expect(await (await openStore()).budget()).toEqual({ committedCents: 800_000_000, returnedCents: 0 });
    await store.execute({ ...submit(P1), totalCents: null });
    expect(await store.budget()).toEqual({ committedCents: 840_000_000, returnedCents: 0 });
  });

  it('ignores a line a crash cut short, and the next writer cuts it away', async () => {
    const store = await openStore();
    await store.execute(submit(P1));
    await store.close();
    open.pop();
    appendFileSync(journal(), '0123456789abcdef {"half a rec');
    const again = await openStore();
    expect(await again.budget()).toEqual({ committedCents: 40_000_000, returnedCents: 0 });
    await again.execute(submit(P2));
    const lines = readFileSync(journal(), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(await (await openStore()).budget()).toEqual({ committedCents: 80_000_000, returnedCents: 0 });
  });

  it('refuses to decide on a record that fails its checksum, naming the damage', async () => {
    const store = await openStore();
    await store.execute(submit(P1));
    await store.close();
    open.pop();
    const text = readFileSync(journal(), 'utf8');
    writeFileSync(journal(), text.replace('40000000', '10000000'));
    const damaged = await openStore();
    expect(damaged.damageReport).toMatch(/fails its checksum at byte 0/);
    await expect(damaged.budget()).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(damaged.execute(submit(P2))).rejects.toThrow(/fails its checksum at byte 0/);
    expect(readFileSync(journal(), 'utf8')).toBe(text.replace('40000000', '10000000'));
  });
});
