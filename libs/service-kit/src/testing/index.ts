export * from './openapi-check';
export * from './fuzz-probe';
export * from './browser';
export * from './metrics';
