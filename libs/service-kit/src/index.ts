export * from './config';
export * from './errors';
export * from './server';
export * from './run';
export * from './bearer';
export * from './health';
export * from './registered';
export * from './openapi';
