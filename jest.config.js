/** Jest: unit tests (no network) and integration tests (a running local stack), both TypeScript via SWC. */
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'es6' } }],
};
const common = {
  transform,
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};

export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{shared,functions,infra,local,scripts,events,bench}/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.int\\.test\\.ts$', '\\.e2e\\.test\\.ts$', '\\.faults\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/*.int.test.ts', '<rootDir>/**/*.e2e.test.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
    },
    {
      // npm run test:faults: SIGKILLs the local stack's services one by one, so never alongside other suites.
      ...common,
      displayName: 'faults',
      testMatch: ['<rootDir>/local/**/*.faults.test.ts'],
    },
  ],
};
