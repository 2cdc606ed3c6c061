export * from './processes';
export * from './random';
export * from './registry-watch';
export * from './ledger-files';
export * from './stores';
export * from './system';
export * from './load';
export * from './stats';
export * from './netns';
// The process kit's, so that an e2e test finds everything it needs in one import.
export { ServiceProcess, sleep, waitFor } from '@grantline/process-kit';
export * from './hot-account';
