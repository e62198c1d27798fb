import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { generateAuthTokenFromCredentialsProvider } from 'aws-msk-iam-sasl-signer-js';
import { MSK_TOKEN_MAX_SECONDS, mskAuthToken } from './msk-iam-token.js';

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session/token+with=characters',
};
const NOW = Date.parse('2026-12-01T19:30:00.000Z');

/** The presigned URL inside a token. */
function urlOf(token: string): URL {
  return new URL(Buffer.from(token, 'base64url').toString('utf8'));
}

describe('mskAuthToken', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it("signs the same kafka-cluster:Connect request as AWS's signer, but for the user agent", async () => {
    // Prepare
    jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate'] });
    const provider = async () => CREDENTIALS;

    // Act
    const ours = await mskAuthToken({ region: 'eu-west-1', credentials: provider });
    const theirs = await generateAuthTokenFromCredentialsProvider({
      region: 'eu-west-1',
      awsCredentialsProvider: provider,
    });

    // Assess
    const [a, b] = [urlOf(ours.token), urlOf(theirs.token)];
    expect(a.searchParams.get('User-Agent')).toBe('orderflow');
    a.searchParams.delete('User-Agent');
    b.searchParams.delete('User-Agent');
    expect(a.href).toBe(b.href);
    expect(a.host).toBe('kafka.eu-west-1.amazonaws.com');
    expect(a.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(a.searchParams.get('X-Amz-Security-Token')).toBe(CREDENTIALS.sessionToken);
    expect(a.searchParams.get('X-Amz-Expires')).toBe(String(MSK_TOKEN_MAX_SECONDS));
    expect(ours.expiresAt).toBe(theirs.expiryTime);
    expect(ours.token).not.toContain('=');
  });

  it('expires with credentials that expire within 15 minutes', async () => {
    // Prepare
    jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate'] });
    const expiration = new Date(NOW + 120_500);

    // Act
    const token = await mskAuthToken({
      region: 'us-east-1',
      credentials: async () => ({ ...CREDENTIALS, expiration }),
    });

    // Assess
    expect(urlOf(token.token).searchParams.get('X-Amz-Expires')).toBe('120');
    expect(token.expiresAt).toBe(NOW + 120_000);
  });

  it('fails naming the region when the credentials are empty', async () => {
    // Act
    const signing = mskAuthToken({
      region: 'us-east-1',
      credentials: async () => ({ accessKeyId: '', secretAccessKey: '' }),
    });

    // Assess
    await expect(signing).rejects.toThrow('no AWS credentials to sign an MSK IAM token for region us-east-1');
  });
});
