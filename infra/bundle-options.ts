/**
 * How a function's handler is bundled, shared by the stack (`OrderflowFunction`) and `npm run bench -- --bundles`,
 * so the bench measures what is deployed. No CDK imports: the bench loads it without the CDK.
 */

/**
 * esbuild settings of every bundle: ESM for the Node.js 24 runtime, `module` before `main` (the SDK's ES builds
 * tree-shake), minified with names kept (stack traces read `at reserveStock`), no source maps (`--enable-source-maps`
 * made Node parse a 3.6-7 MB map at every cold start, and a map without the flag is dead weight).
 */
export const BUNDLE_SETTINGS = {
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  keepNames: true,
  sourcemap: false,
} as const;

/** esbuild's ESM output has no `require`; kafkajs and other CommonJS dependencies still call it. */
export const CREATE_REQUIRE_BANNER =
  "import{createRequire as __orderflowCreateRequire}from'node:module';const require=__orderflowCreateRequire(import.meta.url);";

/**
 * Modules esbuild replaces in every bundle (paths relative to the repository root). The SDK clients' default
 * credential chain becomes the Lambda one (environment, then container endpoint): see shared/lambda-credentials.ts.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './shared/lambda-credentials.ts',
};
