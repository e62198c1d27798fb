import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { documentClientFor, dynamoDbClientFor } from './aws-clients.js';
import { traced } from './observability.js';

describe('aws clients', () => {
  it('creates clients for the region it is given', async () => {
    // Act
    const client = dynamoDbClientFor('eu-west-1');

    // Assess
    expect(await client.config.region()).toBe('eu-west-1');
  });

  it('leaves undefined attributes out of the items a document client writes', async () => {
    // Prepare: a client whose HTTP handler keeps the request body instead of sending it.
    const bodies: string[] = [];
    const raw = new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: {
        handle: async (request: { body?: unknown }) => {
          bodies.push(new TextDecoder().decode(request.body as Uint8Array));
          const body = Readable.from([Buffer.from('{}')]);
          return { response: { statusCode: 200, headers: {}, body } };
        },
      },
    });
    const documents = documentClientFor('us-east-1', raw);

    // Act
    await documents.send(new PutCommand({ TableName: 't-1', Item: { pk: 'a', reason: undefined } }));

    // Assess
    expect(JSON.parse(bodies[0] ?? '{}').Item).toEqual({ pk: { S: 'a' } });
  });

  it('hands a client back as it is when tracing is off (unit tests, the local pipeline)', () => {
    // Prepare
    const client = new DynamoDBClient({ region: 'us-east-1' });

    // Act
    const result = traced(client);

    // Assess
    expect(result).toBe(client);
  });
});
