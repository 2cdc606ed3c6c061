export * from './processes';
export * from './random';
export * from './registry-watch';
export * from './ledger-files';
export * from './system';
export * from './load';
export * from './stats';
export * from './netns';
