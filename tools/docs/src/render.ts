/**
 * docs/API.md from the services' OpenAPI documents: a pure function of the documents, so the
 * same services always give the same bytes (the staleness test relies on it). Only the parts
 * of OpenAPI 3 that Fastify and @fastify/swagger produce here are read.
 */

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  nullable?: boolean;
}

interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  description?: string;
  schema?: JsonSchema;
}

interface MediaType {
  schema?: JsonSchema;
}

interface Response {
  description?: string;
  headers?: Record<string, { description?: string; schema?: JsonSchema }>;
  content?: Record<string, MediaType>;
}

export interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, MediaType> };
  responses?: Record<string, Response>;
}

export interface OpenApiDocument {
  info?: { title?: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
  components?: {
    securitySchemes?: Record<string, { type?: string; scheme?: string; description?: string }>;
  };
}

export interface ServiceDocs {
  /** The heading, e.g. "Registry". */
  name: string;
  defaultPort: number;
  document: OpenApiDocument;
}

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete'];

const PREAMBLE = `# The HTTP API

<!-- Made by \`npm run docs\` from the services' OpenAPI documents. Do not edit: change the
route's schema (libs/contracts, the route's own file) and run \`npm run docs\` again. -->

Every route of the three services, with who may call it, what it takes and what it answers.
This page is generated (\`npm run docs\`) from the OpenAPI document each running service serves
at \`/openapi.json\`, which Fastify builds from the same TypeBox schemas the routes validate
with, so it cannot drift from the code: a test fails when it and the services disagree. How
the services behave together (failover, durability, configuration, metrics and logs) is in
the [README](../README.md).

## What holds for every route

- JSON in and out. A body that is not \`application/json\` is refused with 415, one over 64 KiB
  with 413. Validation is strict: no type coercion (\`"100"\` is not a number) and unknown
  fields are refused.
- An error is \`{ "statusCode", "error", "message", "code"? }\`; a 4xx says what to change, a 5xx
  never shows internals. Bad input is a 4xx, never a 5xx.
- Money is integer cents. Times are ISO 8601 in UTC. Ids made by the system are UUIDs.
- Every answer carries \`x-request-id\`: the caller's own when it sent one of 1 to 128
  printable characters, else a new one. Log lines about the request carry the same id, and
  so do the calls a service makes for it.
- \`Idempotency-Key\` makes a POST safe to repeat: the same key with the same body answers as
  the first time, with \`Idempotent-Replayed: true\`, and changes nothing more.
- A service shutting down answers 503 with an \`x-draining\` header; ask another instance.
`;

export function renderApiDocs(services: ServiceDocs[]): string {
  const parts = [PREAMBLE];
  const anchors = new Anchors();
  for (const service of services) parts.push(renderService(service, anchors));
  return `${parts
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function renderService({ name, defaultPort, document }: ServiceDocs, anchors: Anchors): string {
  const operations = operationsOf(document);
  const lines = [`## ${name} (default port ${defaultPort})`, ''];
  if (document.info?.description) lines.push(document.info.description, '');
  lines.push('| route | what it does | who may call it |', '| --- | --- | --- |');
  for (const { method, path, operation } of operations) {
    lines.push(
      row([
        `[\`${method.toUpperCase()} ${path}\`](#${anchors.next(method, path)})`,
        operation.summary ?? '',
        whoShort(operation),
      ]),
    );
  }
  lines.push('');
  for (const entry of operations) lines.push(renderOperation(entry, document));
  return lines.join('\n');
}

function operationsOf(
  document: OpenApiDocument,
): { method: string; path: string; operation: Operation }[] {
  const found: { method: string; path: string; operation: Operation }[] = [];
  // Document order is the order the service registers its routes in: related routes together.
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) found.push({ method, path, operation });
    }
  }
  return found;
}

function renderOperation(
  { method, path, operation }: { method: string; path: string; operation: Operation },
  document: OpenApiDocument,
): string {
  const lines = [`### \`${method.toUpperCase()} ${path}\``, ''];
  if (operation.summary) lines.push(`${sentence(operation.summary)}`, '');
  if (operation.description) lines.push(operation.description, '');
  lines.push(`**Who:** ${whoLong(operation, document)}`, '');

  const parameters = operation.parameters ?? [];
  for (const [place, title] of [
    ['path', 'Path'],
    ['query', 'Query'],
    ['header', 'Headers'],
  ] as const) {
    const here = parameters.filter(
      (parameter) => parameter.in === place && parameter.name !== 'authorization',
    );
    if (here.length === 0) continue;
    lines.push(`**${title}:**`, '', '| name | required | value |', '| --- | --- | --- |');
    for (const parameter of sortParameters(here)) {
      lines.push(
        row([
          `\`${parameter.name}\``,
          parameter.required ? 'yes' : 'no',
          joinNotes([parameter.description, ...rules(parameter.schema ?? {})]) ||
            typeText(parameter.schema ?? {}),
        ]),
      );
    }
    lines.push('');
  }

  const body = operation.requestBody?.content?.['application/json']?.schema;
  if (body) {
    lines.push('**Body** (JSON):', '');
    lines.push(...fieldTables(body));
  }

  lines.push('**Answers:**', '', '| status | when | body |', '| --- | --- | --- |');
  const responses = Object.entries(operation.responses ?? {}).sort(([a], [b]) =>
    a.localeCompare(b),
  );
  for (const [status, response] of responses) {
    lines.push(row([status, responseWhen(status, response), responseBodyText(response)]));
  }
  lines.push('');
  for (const [status, response] of responses) {
    if (!status.startsWith('2')) continue;
    const headers = Object.entries(response.headers ?? {}).sort(([a], [b]) => a.localeCompare(b));
    if (headers.length > 0) {
      const described = headers.map(
        ([headerName, header]) =>
          `\`${headerName}\`${header.description ? ` (${header.description.replace(/\.$/, '')})` : ''}`,
      );
      lines.push(`${status} headers: ${described.join('; ')}.`, '');
    }
    const schema = response.content?.['application/json']?.schema;
    if (schema && !isErrorSchema(schema) && schemaHasFields(schema)) {
      lines.push(`${status} body:`, '');
      lines.push(...fieldTables(schema));
    }
  }
  return lines.join('\n');
}

function whoShort(operation: Operation): string {
  const schemes = securityNames(operation);
  return schemes.length === 0 ? 'anyone' : schemes.map(schemeTitle).join(' or ');
}

function whoLong(operation: Operation, document: OpenApiDocument): string {
  const schemes = securityNames(operation);
  if (schemes.length === 0) return 'anyone.';
  const each = schemes.map((scheme) => {
    const description = document.components?.securitySchemes?.[scheme]?.description;
    return `\`Authorization: Bearer <${schemeTitle(scheme)}>\`${description ? `: ${description}` : ''}`;
  });
  return sentence(each.join('; or '));
}

function securityNames(operation: Operation): string[] {
  return [
    ...new Set((operation.security ?? []).flatMap((requirement) => Object.keys(requirement))),
  ];
}

/** `registryToken` -> `registry token`. */
function schemeTitle(scheme: string): string {
  return scheme.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

function sortParameters(parameters: Parameter[]): Parameter[] {
  // Required first, then by name: stable whatever order the schema listed them in.
  return [...parameters].sort(
    (a, b) => Number(!!b.required) - Number(!!a.required) || a.name.localeCompare(b.name),
  );
}

/** What an answer means, in the route's words, else in general ones for its status. */
function responseWhen(status: string, response: Response): string {
  const description = response.description;
  if (description && description !== 'Default Response') return description;
  return GENERIC_MEANINGS[status] ?? '';
}

const GENERIC_MEANINGS: Record<string, string> = {
  '200': 'Done.',
  '201': 'Done: created, or the same request answered again.',
  '204': 'Done; nothing to say.',
  '400': 'The request does not match the schema.',
  '401': 'No credentials, or not valid ones.',
  '403': 'Valid credentials that may not do this.',
  '404': 'No such thing.',
  '409': 'Refused by the current state.',
  '410': 'Gone: it has ended.',
  '413': 'The body is over 64 KiB.',
  '415': 'The body is not JSON.',
  '422':
    'Understood, but refused as it stands (e.g. an Idempotency-Key used before with another request).',
  '502': 'A service this one called failed; retry with the same Idempotency-Key.',
  '503': 'Unavailable for now; nothing was changed; retry.',
};

function responseBodyText(response: Response): string {
  const content = response.content ?? {};
  const json = content['application/json']?.schema;
  if (json) {
    if (isErrorSchema(json)) return 'error';
    if (json.type === 'null') return '(none)';
    return schemaHasFields(json) ? `${typeText(json)}, below` : typeText(json);
  }
  const other = Object.keys(content).sort();
  if (other.length > 0) return other.map((type) => `\`${type}\``).join(', ');
  return '(none)';
}

function isErrorSchema(schema: JsonSchema): boolean {
  const keys = Object.keys(schema.properties ?? {});
  return (
    schema.title === 'ErrorResponse' ||
    (keys.includes('statusCode') && keys.includes('error') && keys.includes('message'))
  );
}

function schemaHasFields(schema: JsonSchema): boolean {
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return variants.some(schemaHasFields);
  if (schema.type === 'array') return schemaHasFields(schema.items ?? {});
  return Object.keys(schema.properties ?? {}).length > 0;
}

/** One field table per shape (a union gets one per variant, each named by its constants). */
function fieldTables(schema: JsonSchema): string[] {
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants && variants.every((variant) => variant.properties)) {
    return variants.flatMap((variant, index) => [
      `${index === 0 ? 'Either' : 'or'} ${variantName(variant)}:`,
      '',
      ...fieldTable(variant),
    ]);
  }
  return fieldTable(schema);
}

function variantName(schema: JsonSchema): string {
  const constants = Object.entries(schema.properties ?? {})
    .map(([name, field]) => [name, constantOf(field)] as const)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `\`${name}: ${JSON.stringify(value)}\``);
  return constants.length > 0 ? constants.join(', ') : (schema.title ?? 'this shape');
}

function constantOf(schema: JsonSchema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length === 1) return schema.enum[0];
  return undefined;
}

function fieldTable(schema: JsonSchema): string[] {
  const rows: string[][] = [];
  collectFields(
    schema.type === 'array' ? (schema.items ?? {}) : schema,
    schema.type === 'array' ? '[]' : '',
    rows,
    0,
  );
  if (rows.length === 0) return [`\`${typeText(schema)}\``, ''];
  return ['| field | type | required | notes |', '| --- | --- | --- | --- |', ...rows.map(row), ''];
}

function collectFields(schema: JsonSchema, prefix: string, rows: string[][], depth: number): void {
  const required = new Set(schema.required ?? []);
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const path = prefix === '' ? name : prefix === '[]' ? `[].${name}` : `${prefix}.${name}`;
    rows.push([
      `\`${path}\``,
      typeText(field),
      required.has(name) ? 'yes' : 'no',
      joinNotes([field.description, ...rules(field)]),
    ]);
    if (depth >= 3) continue;
    if (field.properties) collectFields(field, path, rows, depth + 1);
    else if (field.type === 'array' && field.items?.properties)
      collectFields(field.items, `${path}[]`, rows, depth + 1);
    else if (
      typeof field.additionalProperties === 'object' &&
      field.additionalProperties.type === 'array' &&
      field.additionalProperties.items?.properties
    ) {
      collectFields(field.additionalProperties.items, `${path}.<key>[]`, rows, depth + 1);
    }
  }
}

/** A short name for a schema's type: `string (uuid)`, `array of object`, `"accepted"`. */
export function typeText(schema: JsonSchema): string {
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return [...new Set(variants.map(typeText))].join(' or ');
  const constant = constantOf(schema);
  if (constant !== undefined) return `\`${JSON.stringify(constant)}\``;
  if (schema.enum) return schema.enum.map((value) => `\`${JSON.stringify(value)}\``).join(' or ');
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : schema.type;
  if (type === 'array') return `array of ${typeText(schema.items ?? {})}`;
  if (type === 'object' || (type === undefined && schema.properties)) {
    if (!schema.properties && typeof schema.additionalProperties === 'object') {
      return `map of ${typeText(schema.additionalProperties)}`;
    }
    return 'object';
  }
  if (type === 'string' && schema.format) return `string (${schema.format})`;
  return type ?? 'any';
}

/** The constraints of a value, in words. */
function rules(schema: JsonSchema): string[] {
  const found: string[] = [];
  if (schema.minimum !== undefined && schema.maximum !== undefined)
    found.push(`${number(schema.minimum)} to ${number(schema.maximum)}`);
  else if (schema.minimum !== undefined) found.push(`at least ${number(schema.minimum)}`);
  else if (schema.maximum !== undefined) found.push(`at most ${number(schema.maximum)}`);
  if (schema.minLength !== undefined && schema.maxLength !== undefined)
    found.push(`${schema.minLength} to ${schema.maxLength} characters`);
  else if (schema.minLength !== undefined) found.push(`at least ${schema.minLength} characters`);
  else if (schema.maxLength !== undefined) found.push(`at most ${schema.maxLength} characters`);
  if (schema.minItems !== undefined) found.push(`at least ${schema.minItems} items`);
  if (schema.maxItems !== undefined) found.push(`at most ${schema.maxItems} items`);
  if (schema.pattern !== undefined) found.push(`matches \`${schema.pattern}\``);
  if (schema.default !== undefined) found.push(`default ${JSON.stringify(schema.default)}`);
  return found;
}

function number(value: number): string {
  // Thousands separated by commas, whatever the machine's locale.
  return Number.isInteger(value)
    ? String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
    : String(value);
}

function joinNotes(notes: (string | undefined)[]): string {
  return notes
    .filter((note): note is string => !!note)
    .map((note) => note.replace(/\.$/, ''))
    .join('; ');
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function row(cells: string[]): string {
  return `| ${cells.map((cell) => cell.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ')).join(' | ')} |`;
}

/**
 * GitHub's anchors of the operation headings (`### \`POST /accounts/{accountId}\``): the text
 * lower-cased, punctuation dropped, spaces as dashes, and `-1`, `-2` for repeats (every
 * service has `GET /health`). Asked in the order the headings appear.
 */
class Anchors {
  private readonly seen = new Map<string, number>();

  next(method: string, path: string): string {
    const base = `${method} ${path}`
      .toLowerCase()
      .replace(/[^a-z0-9 _-]/g, '')
      .replace(/ /g, '-');
    const count = this.seen.get(base) ?? 0;
    this.seen.set(base, count + 1);
    return count === 0 ? base : `${base}-${count}`;
  }
}
