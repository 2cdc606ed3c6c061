import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestPostgres, type TestPostgres } from '@grantline/postgres/testing';

export type StoreKind = 'files' | 'postgres';

/**
 * Fresh places for agency instances' state: a folder (AGENCY_DIR), or a fresh database's URL on
 * one test PostgreSQL, started when first needed (when none can be had, the tests that need it
 * fail). Each place is removed by the suite's `cleanups`, which run in reverse, so after the
 * apps and stores pushed later that use it.
 */
export class StorePlaces {
  private postgres: Promise<TestPostgres> | undefined;

  constructor(
    private readonly folderPrefix: string,
    private readonly cleanups: (() => Promise<unknown>)[],
  ) {}

  async fresh(kind: StoreKind): Promise<string> {
    if (kind === 'files') {
      const dir = mkdtempSync(path.join(os.tmpdir(), this.folderPrefix));
      this.cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      return dir;
    }
    this.postgres ??= startTestPostgres();
    const server = await this.postgres;
    const url = await server.createDatabase();
    this.cleanups.push(() => server.release(url));
    return url;
  }

  /** Stops the test PostgreSQL, if one was started. */
  async close(): Promise<void> {
    await (await this.postgres)?.close();
  }
}
