import { OptionsError, parseOptions } from '../src/options';

describe('options', () => {
  it('has defaults for a short demo', () => {
    const parsed = parseOptions([], {});
    if (parsed.help) throw new Error('unexpected help');
    expect(parsed.options).toMatchObject({
      projects: 4,
      studentsPerProject: 2,
      seedGiven: false,
      quiet: false,
      registryUrl: 'http://127.0.0.1:9000',
      sharedAgency: false,
    });
  });

  it('reads flags, and environment variables where no flag is given', () => {
    const parsed = parseOptions(['--projects', '3', '--seed', '7', '--pause', '5-20', '-q'], {
      SIM_PROJECTS: '9',
      SIM_STUDENTS: '1',
      REGISTRY_URL: 'http://127.0.0.1:4000',
    });
    if (parsed.help) throw new Error('unexpected help');
    expect(parsed.options).toMatchObject({
      projects: 3,
      studentsPerProject: 1,
      seed: 7,
      seedGiven: true,
      pauseMs: { min: 5, max: 20 },
      quiet: true,
      registryUrl: 'http://127.0.0.1:4000',
    });
  });

  it('knows when the agency serves others too', () => {
    for (const [argv, env] of [
      [['--shared-agency'], {}],
      [[], { SIM_SHARED_AGENCY: '1' }],
    ] as const) {
      const parsed = parseOptions([...argv], env);
      if (parsed.help) throw new Error('unexpected help');
      expect(parsed.options.sharedAgency).toBe(true);
    }
  });

  it('asks for help', () => {
    expect(parseOptions(['--help'], {})).toEqual({ help: true });
  });

  it.each([
    [['--projects', '0'], /--projects must be a whole number from 1 to 100/],
    [['--projects', '2.5'], /--projects/],
    [['--seed', '-1'], /--seed/],
    [['--pause', '300-100'], /--pause must be "min-max"/],
    [['--registry-url', 'ftp://x'], /--registry-url must be http\(s\) URLs/],
    [['--registry-url', 'http://127.0.0.1:1,nonsense'], /--registry-url must be http\(s\) URLs/],
    [['--frobnicate'], /Unknown option/],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => parseOptions(argv, {})).toThrow(OptionsError);
    expect(() => parseOptions(argv, {})).toThrow(message);
  });

  it('names the environment variable that is wrong', () => {
    expect(() => parseOptions([], { SIM_STUDENTS: 'many' })).toThrow(
      /SIM_STUDENTS must be a whole number/,
    );
  });
});
