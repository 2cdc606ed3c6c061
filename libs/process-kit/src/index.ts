export * from './service-process';
export * from './wait-for';
export * from './random';
export * from './secrets';
