import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@grantline/e2e';
import { collectOpenApiDocuments } from './collect';
import { apiDocsFrom } from './api-docs';

/**
 * `npm run docs`: writes docs/API.md from the services' OpenAPI documents (the services must
 * be built). `--check` writes nothing and exits 1 when the committed file is stale.
 */
async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const target = path.join(REPO_ROOT, 'docs/API.md');
  const text = apiDocsFrom(await collectOpenApiDocuments());
  const current = readFileSync(target, 'utf8');
  if (check) {
    if (current === text) return 0;
    console.error('docs/API.md is stale: run `npm run docs` and commit the result.');
    return 1;
  }
  if (current !== text) writeFileSync(target, text);
  console.log(current === text ? 'docs/API.md is up to date.' : 'docs/API.md written.');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
