/**
 * How a function's handler is bundled, shared by the stack (`OrderflowFunction`) and `npm run bench -- --bundles`,
 * so the bench measures what is deployed. No CDK imports: the bench loads it without the CDK.
 */

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
