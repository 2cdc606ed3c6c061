export * from './openapi-check';
