/**
 * The credential chain of orderflow's Lambda bundles, which esbuild puts in place of
 * `@aws-sdk/credential-provider-node` (`BUNDLE_ALIASES` in infra/bundle-options.ts). Lambda gives a function its
 * role's credentials in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime), and
 * `sam local invoke` sets the same variables; a container credential endpoint (`AWS_CONTAINER_CREDENTIALS_*`) is
 * read next. The SDK's full chain adds SSO, shared config files, credential processes, web identity and EC2
 * instance metadata, none of which a function uses: 135 KiB of each Kafka function's bundle (nested STS, SSO and
 * OIDC clients), measured with `npm run bench -- --bundles`. Source runs (tests, `npm run dev`, the tools) keep the
 * SDK's chain: only bundles are aliased.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { CredentialsProviderError, chain } from '@smithy/core/config';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Logger } from '@smithy/types';

/** What the SDK clients pass to the provider they build (`credentialDefaultProvider(config)`). */
export interface DefaultProviderInit {
  readonly logger?: Logger;
}

/**
 * The function's credentials: the environment's, else the container endpoint's, else a
 * `CredentialsProviderError` naming the variables looked at. Same signature as the SDK's `defaultProvider`.
 *
 * @example
 * const credentials = await defaultProvider()();
 */
export function defaultProvider(init: DefaultProviderInit = {}): AwsCredentialIdentityProvider {
  // fromHttp throws at once when no endpoint variable is set, so it is built when the chain reaches it.
  const fromContainer: AwsCredentialIdentityProvider = async () => fromHttp(init)();
  return chain(fromEnv(init), fromContainer, async () => {
    throw new CredentialsProviderError(
      'no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda and sam local invoke do), or ' +
        'AWS_CONTAINER_CREDENTIALS_FULL_URI / AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; orderflow bundles read no ' +
        'profiles, SSO sessions or instance metadata',
      { tryNextLink: false, logger: init.logger },
    );
  });
}

/** As the SDK's: whether credentials expire soon enough to be fetched again before use. */
export function credentialsWillNeedRefresh(credentials: AwsCredentialIdentity): boolean {
  return credentials.expiration !== undefined;
}

/** As the SDK's: credentials that expire within five minutes are treated as expired. */
export function credentialsTreatedAsExpired(credentials: AwsCredentialIdentity): boolean {
  return credentials.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
}
