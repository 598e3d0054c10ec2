/** Jest in native ESM mode with swc: the code stays ESM (import.meta.url finds worker files). */
export default {
  testEnvironment: 'node',
  // The workspace's packages resolve to their TypeScript source (see the packages' exports).
  testEnvironmentOptions: { customExportConditions: ['@actorfs/source', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'es6' } }] },
  testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  setupFiles: ['<rootDir>/test/jest-env.js'],
  // A limit for hangs, not a speed check: worker threads start 10-50 times slower on a loaded 2-core machine.
  testTimeout: 120000,
  maxWorkers: 2,
};
