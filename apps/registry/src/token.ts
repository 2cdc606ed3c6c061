import { registrationTokenFor, SERVICE_TYPE_PATTERN } from '@grantline/contracts';
import { loadConfig, Secret } from '@grantline/service-kit';
import { Type } from '@sinclair/typebox';

/**
 * `npm run token -- <type>` (or `node dist/token.js <type>` in the registry's image): prints
 * the registration token of a service type, derived from the REGISTRY_TOKEN in the
 * environment, to hand to the services of that type instead of REGISTRY_TOKEN itself.
 */
function main(argv: string[]): number {
  const type = argv[0];
  if (argv.length !== 1 || type === undefined || !new RegExp(SERVICE_TYPE_PATTERN).test(type)) {
    process.stderr.write(
      'usage: npm run token -- <type>   (with REGISTRY_TOKEN in the environment)\n' +
        '  prints the registration token of <type> (e.g. agency, dcu): lowercase hex of\n' +
        '  HMAC-SHA256(key = REGISTRY_TOKEN, message = type). A type is lower-case letters,\n' +
        '  digits and dashes, starting with a letter.\n',
    );
    return 2;
  }
  const config = loadConfig(
    Type.Object({ REGISTRY_TOKEN: Secret('the registry token the type tokens derive from') }),
  );
  process.stdout.write(`${registrationTokenFor(config.REGISTRY_TOKEN, type)}\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
