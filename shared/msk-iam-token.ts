/**
 * The SASL OAUTHBEARER token of MSK's IAM access control: a SigV4-presigned `kafka-cluster:Connect` request to
 * `kafka.<region>.amazonaws.com`, base64url-encoded, valid 15 minutes at most
 * (https://github.com/aws/aws-msk-iam-sasl-signer-js#readme). It is what `aws-msk-iam-sasl-signer-js` generates,
 * byte for byte but its `User-Agent` (msk-iam-token.test.ts compares the two). That library requires
 * `@aws-sdk/client-sts` and the whole `@aws-sdk/credential-providers` package from CommonJS, so esbuild bundles
 * both into every function: 132 KiB of the 1,181 of validate-order's bundle, measured with
 * `npm run bench -- --bundles`. Here only the signer the SDK clients already carry is used.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { formatUrl } from '@aws-sdk/util-format-url';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

/** Longest a token is valid, in seconds: MSK's limit. */
export const MSK_TOKEN_MAX_SECONDS = 900;

/** A token and when it stops being accepted. */
export interface MskAuthToken {
  /** The base64url presigned URL, sent as the OAUTHBEARER value. */
  readonly token: string;
  /** Epoch milliseconds after which MSK rejects it. */
  readonly expiresAt: number;
}

/** Options of `mskAuthToken`. */
export interface MskAuthTokenOptions {
  /** Region of the cluster. */
  readonly region: string;
  /**
   * Where the signing credentials come from.
   *
   * @default - the SDK's default provider chain (on Lambda: the function role's variables)
   */
  readonly credentials?: AwsCredentialIdentityProvider;
  /**
   * Sent in the token's `User-Agent` parameter, which MSK logs.
   *
   * @default 'orderflow'
   */
  readonly userAgent?: string;
}

/**
 * Signs a token for connecting to an MSK cluster in `region` with IAM; it expires with the credentials when they
 * expire sooner than MSK's 15 minutes.
 *
 * @example
 * sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: (await mskAuthToken({ region })).token }) }
 */
export async function mskAuthToken(options: MskAuthTokenOptions): Promise<MskAuthToken> {
  const credentials = await (options.credentials ?? defaultProvider())();
  if (!credentials.accessKeyId || !credentials.secretAccessKey) {
    throw new Error(`no AWS credentials to sign an MSK IAM token for region ${options.region}`);
  }
  const now = Date.now();
  const seconds = credentials.expiration
    ? Math.min(Math.floor((credentials.expiration.getTime() - now) / 1000), MSK_TOKEN_MAX_SECONDS)
    : MSK_TOKEN_MAX_SECONDS;
  const hostname = `kafka.${options.region}.amazonaws.com`;
  const signer = new SignatureV4({
    service: 'kafka-cluster',
    region: options.region,
    credentials,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https',
      hostname,
      path: '/',
      headers: { host: hostname },
      query: { Action: 'kafka-cluster:Connect' },
    },
    { expiresIn: seconds, signingDate: new Date(now) },
  );
  const url = formatUrl({ ...signed, query: { ...signed.query, 'User-Agent': options.userAgent ?? 'orderflow' } });
  return { token: Buffer.from(url, 'utf8').toString('base64url'), expiresAt: now + seconds * 1000 };
}
