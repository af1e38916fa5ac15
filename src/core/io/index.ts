export * from './byte-source';
export * from './byte-reader';
export * from './errors';
export * from './limits';
export * from './json';
export * from './paths';
export * from './stream-source';
export * from './bytes';
