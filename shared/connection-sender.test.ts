import { Readable } from 'node:stream';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { describe, expect, it } from '@jest/globals';
import { managementApiClientFor } from './aws-clients.js';
import { managementApiSender } from './connection-sender.js';

interface Answer {
  readonly status: number;
  readonly errorType?: string;
}

/**
 * A Management API client for `endpoint` whose HTTP handler records each request and answers with the next of
 * `answers` (200 once they run out): the SDK's real retry strategy runs, with no network.
 */
function clientAnswering(answers: Answer[], endpoint = 'https://abc123def4.execute-api.us-east-1.amazonaws.com/prod') {
  const requests: { method: string; path: string; body: string }[] = [];
  const client = new ApiGatewayManagementApiClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: {
      handle: async (request: { method: string; path: string; body?: unknown }) => {
        requests.push({
          method: request.method,
          path: request.path,
          body: Buffer.from(request.body as Uint8Array).toString(),
        });
        const answer = answers.shift() ?? { status: 200 };
        const headers: Record<string, string> = answer.errorType ? { 'x-amzn-errortype': answer.errorType } : {};
        const body = Readable.from([Buffer.from(answer.errorType ? '{"message":"from the test"}' : '')]);
        return { response: { statusCode: answer.status, headers, body } };
      },
    },
  });
  return { client, requests };
}

describe('managementApiSender', () => {
  it("posts the message as JSON to the connection, under the endpoint's stage", async () => {
    // Prepare
    const { client, requests } = clientAnswering([]);

    // Act
    const outcome = await managementApiSender(client).send('L0SM9cOFvHcCIhw=', { type: 'subscribed', orderId: '*' });

    // Assess
    expect(outcome).toBe('sent');
    expect(requests).toEqual([
      { method: 'POST', path: '/prod/@connections/L0SM9cOFvHcCIhw%3D', body: '{"type":"subscribed","orderId":"*"}' },
    ]);
  });

  it('answers gone when API Gateway says the connection is closed (410)', async () => {
    // Prepare
    const { client, requests } = clientAnswering([{ status: 410, errorType: 'GoneException' }]);

    // Act
    const outcome = await managementApiSender(client).send('conn-1', { type: 'unsubscribed', orderId: '*' });

    // Assess
    expect(outcome).toBe('gone');
    expect(requests).toHaveLength(1);
  });

  it('retries a throttled post', async () => {
    // Prepare
    const { client, requests } = clientAnswering([{ status: 429, errorType: 'LimitExceededException' }]);

    // Act
    const outcome = await managementApiSender(client).send('conn-1', { type: 'subscribed', orderId: '*' });

    // Assess
    expect(outcome).toBe('sent');
    expect(requests).toHaveLength(2);
  });

  it('fails when the post stays throttled after the retries', async () => {
    // Prepare
    const throttled = { status: 429, errorType: 'LimitExceededException' };
    const { client, requests } = clientAnswering([throttled, throttled, throttled]);

    // Act
    const failure = await managementApiSender(client)
      .send('conn-1', { type: 'subscribed', orderId: '*' })
      .catch((e: unknown) => e);

    // Assess
    expect((failure as Error).name).toBe('LimitExceededException');
    expect(requests).toHaveLength(3);
  });
});

describe('managementApiClientFor', () => {
  it('targets the WebSocket API it is given, not a regional service endpoint', async () => {
    // Act
    const client = managementApiClientFor('eu-west-1', 'http://127.0.0.1:3000/_live');

    // Assess
    const endpoint = await client.config.endpoint?.();
    expect(endpoint).toMatchObject({ protocol: 'http:', hostname: '127.0.0.1', port: 3000, path: '/_live' });
    expect(await client.config.region()).toBe('eu-west-1');
  });
});
