import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { addCounts, awsCallCounter, countEveryClient } from './aws-calls.js';

/** Answers every request with an empty success, in place of the network (these tests make no connection). */
const fakeTransport = () => async () => ({ output: { $metadata: {} }, response: {} }) as never;

const CONFIG = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

describe('awsCallCounter', () => {
  it('counts each call of a watched client once by service and operation, and take() resets', async () => {
    // Prepare
    const client = new DynamoDBClient(CONFIG);
    const doc = DynamoDBDocumentClient.from(client);
    let attempts = 0;
    client.middlewareStack.add(
      () => async () => {
        attempts += 1;
        return { output: { $metadata: {} }, response: {} } as never;
      },
      { step: 'finalizeRequest', name: 'fakeTransport', priority: 'low' },
    );
    const counter = awsCallCounter();
    counter.watch(doc);
    counter.watch(client);

    // Act
    await doc.send(new PutCommand({ TableName: 't', Item: { pk: 'a' } }));
    await doc.send(new PutCommand({ TableName: 't', Item: { pk: 'b' } }));
    await client.send(new ListTablesCommand({}));
    const first = counter.take();
    const second = counter.take();

    // Assess
    expect(attempts).toBe(3);
    expect(first).toEqual({ 'DynamoDB.PutItem': 2, 'DynamoDB.ListTables': 1 });
    expect(second).toEqual({});
  });
});

describe('countEveryClient', () => {
  it('counts the calls of clients created after it, without watching them by hand', async () => {
    // Prepare
    const counter = countEveryClient();
    counter.take();
    // aws-sdk-client-mock replaces `send` itself, so no middleware would run: a fake transport answers instead.
    const bus = new EventBridgeClient(CONFIG);
    bus.middlewareStack.add(fakeTransport, { step: 'finalizeRequest', name: 'fakeTransport', priority: 'low' });

    // Act
    await bus.send(new PutEventsCommand({ Entries: [] }));
    await bus.send(new PutEventsCommand({ Entries: [] }));

    // Assess
    expect(countEveryClient()).toBe(counter);
    expect(counter.take()).toEqual({ 'EventBridge.PutEvents': 2 });
  });
});

describe('addCounts', () => {
  it('adds counts key by key', () => {
    // Prepare
    const into = { 'SQS.ReceiveMessage': 2 };

    // Act
    addCounts(into, { 'SQS.ReceiveMessage': 3, 'SQS.DeleteMessageBatch': 1 });

    // Assess
    expect(into).toEqual({ 'SQS.ReceiveMessage': 5, 'SQS.DeleteMessageBatch': 1 });
  });
});
