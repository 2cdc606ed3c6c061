export * from './common';
export * from './registry';
export * from './agency';
export * from './dcu';
export * from './money';
export * from './trust';
export * from './check';
