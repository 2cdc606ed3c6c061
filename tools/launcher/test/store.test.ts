import { takeStoreOption } from '../src/store';

describe('the launcher --store option', () => {
  it('takes --store postgres or --store=files out and leaves the simulation its own options', () => {
    expect(takeStoreOption(['--projects', '3', '--store', 'postgres', '--seed', '1'])).toEqual({
      store: 'postgres',
      rest: ['--projects', '3', '--seed', '1'],
    });
    expect(takeStoreOption(['--store=files', '--days', '5-12'])).toEqual({ store: 'files', rest: ['--days', '5-12'] });
    expect(takeStoreOption(['--quiet'])).toEqual({ store: 'files', rest: ['--quiet'] });
  });

  it('refuses a store it does not know, naming it', () => {
    expect(() => takeStoreOption(['--store', 'mysql'])).toThrow('--store must be "files" or "postgres", not "mysql"');
    expect(() => takeStoreOption(['--store'])).toThrow(/not ""/);
  });
});
