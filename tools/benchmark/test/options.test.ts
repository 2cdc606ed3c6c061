import { parseOptions, selectScenarios, SCENARIO_IDS, UsageError } from '../src/options';
import { reproduceCommand } from '../src/harness';

describe('parseOptions', () => {
  it('has the defaults of the issue', () => {
    const options = parseOptions([], '/out');
    expect(options).toMatchObject({
      durationSeconds: 10,
      longDurationSeconds: 60,
      connections: 50,
      warmupSeconds: 2,
      outDir: '/out',
      build: true,
    });
    expect(options.scenarios).toEqual([...SCENARIO_IDS]);
  });

  it('reads short and long flags', () => {
    const options = parseOptions(
      ['-d', '3', '-c', '20', '--long-duration', '30', '--no-build', '--out', '/tmp/r'],
      '/out',
    );
    expect(options).toMatchObject({
      durationSeconds: 3,
      connections: 20,
      longDurationSeconds: 30,
      build: false,
      outDir: '/tmp/r',
    });
  });

  it('rejects what is not a positive whole number', () => {
    expect(() => parseOptions(['-d', '0'], '/out')).toThrow(UsageError);
    expect(() => parseOptions(['-c', 'ten'], '/out')).toThrow(
      '--connections must be a whole number',
    );
    expect(() => parseOptions(['--bogus'], '/out')).toThrow(UsageError);
  });
});

describe('selectScenarios', () => {
  it('brings the baseline along, in run order', () => {
    expect(selectScenarios('dcu-withdraw-hot,dcu-read')).toEqual([
      'disk-durable-write',
      'fastify-hello',
      'dcu-read',
      'dcu-withdraw-hot',
    ]);
  });

  it('names the known scenarios when one is unknown', () => {
    expect(() => selectScenarios('dcu-write')).toThrow(
      /unknown scenario "dcu-write"; known: disk-durable-write/,
    );
  });
});

describe('reproduceCommand', () => {
  const settings = {
    durationSeconds: 10,
    connections: 50,
    longDurationSeconds: 60,
    warmupSeconds: 2,
  };

  it('gives the duration and connections of the run', () => {
    expect(reproduceCommand('dcu-read', settings)).toBe(
      'npm run bench -- --only dcu-read -d 10 -c 50',
    );
  });

  it('gives the long duration for long runs', () => {
    expect(reproduceCommand('long-withdraw', settings)).toBe(
      'npm run bench -- --only long-withdraw --long-duration 60 -c 50 -d 10',
    );
  });

  it('mentions a warm-up only when it is not the default', () => {
    expect(reproduceCommand('disk-durable-write', { ...settings, warmupSeconds: 0 })).toBe(
      'npm run bench -- --only disk-durable-write -d 10 --warmup 0',
    );
  });
});
