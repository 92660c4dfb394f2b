export * from './files.js';
export * from './ports.js';
