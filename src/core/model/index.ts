export * from './dtype';
export * from './types';
