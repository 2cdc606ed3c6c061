export * from './api-docs';
export * from './collect';
export * from './render';
