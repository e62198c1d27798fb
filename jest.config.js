/** Jest: unit tests (no network) and integration tests (a running local stack), both TypeScript via SWC. */
import { availableParallelism } from 'node:os';

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
  // Jest's default is one worker less than the cores, a single worker on a 2-core machine; the unit files wait on
  // child processes (checkov, sam, cfn-lint) often enough that two workers there take 0.78x the time (80 s vs 102 s).
  // The integration and fault suites share one stack and run in band (their npm scripts say so).
  maxWorkers: Math.max(2, availableParallelism() - 1),
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
