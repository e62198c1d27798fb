import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SESClient, SendTemplatedEmailCommand } from '@aws-sdk/client-ses';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { EventBridgeEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../shared/config.js';
import { ValidationError } from '../../shared/errors.js';
import { testContext } from '../../shared/testing/context.js';
import { loadEvent } from '../../shared/testing/fixtures.js';
import { captureOutput } from '../../shared/testing/output.js';
import type { BusDetailType } from '../../shared/topology.js';
import { createHandler, sendOrderEmailEnv } from './send-order-email-handler.js';
import { sesEmailSender } from './ses-sender.js';

const ADDRESS = 'ada.lovelace@example.com';
const TABLE = 'orderflow-idempotency';

type BusEvent = EventBridgeEvent<BusDetailType, unknown>;
const fixture = (name: string) => loadEvent<BusEvent>(`send-order-email/${name}.json`);

const context = testContext('send-order-email', {
  memoryLimitInMB: '256',
  awsRequestId: '7c3f1a52-7b61-11e6-9a41-93e812345678',
});

/** The handler over SES and DynamoDB clients (mocked below), sending from `source` with `templates`. */
function handlerWith(source: string, templates: { confirmation: string; cancellation: string }) {
  return createHandler({
    sender: sesEmailSender(new SESClient({})),
    persistenceStore: new DynamoDBPersistenceLayer({ tableName: TABLE, awsSdkV3Client: new DynamoDBClient({}) }),
    source,
    templates,
  });
}

/** The handler as deployed: the configuration's defaults, read from a minimal environment. */
const config = loadConfig(sendOrderEmailEnv, { SENDER_EMAIL: 'orders@orderflow.example', IDEMPOTENCY_TABLE: TABLE });
const handler = handlerWith(config.SENDER_EMAIL, {
  confirmation: config.CONFIRMATION_TEMPLATE,
  cancellation: config.CANCELLATION_TEMPLATE,
});

const ses = mockClient(SESClient);
const dynamo = mockClient(DynamoDBClient);

/** Everything written to stdout and stderr while a test runs: Powertools logs and EMF metrics go there. */
let output: string[];

function sesInputs() {
  return ses.commandCalls(SendTemplatedEmailCommand).map((call) => call.args[0].input);
}

/** The record the idempotency layer stored, as DynamoDB would return it in a failed condition. */
function completedRecord(put: PutItemCommandInput, data: Record<string, string>) {
  return {
    id: put.Item?.id ?? { S: '' },
    status: { S: 'COMPLETED' },
    expiration: { N: String(Math.floor(Date.now() / 1000) + 3600) },
    data: { M: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, { S: v }])) },
  };
}

beforeEach(() => {
  output = captureOutput();
  ses.reset();
  dynamo.reset();
  ses.on(SendTemplatedEmailCommand).resolves({ MessageId: 'ses-msg-1' });
  dynamo.on(PutItemCommand).resolves({});
  dynamo.on(UpdateItemCommand).resolves({});
  dynamo.on(DeleteItemCommand).resolves({});
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('send-order-email handler', () => {
  it('sends the confirmation email for OrderConfirmed', async () => {
    // Act
    const result = await handler(fixture('order-confirmed'), context);

    // Assess
    expect(result).toEqual({
      transitionId: '5b0e7c2a-4f1d-4c3e-9a61-0000000000a1:CONFIRMED',
      template: 'orderflow-order-confirmed',
      messageId: 'ses-msg-1',
    });
    const [input] = sesInputs();
    expect(input).toMatchObject({
      Source: 'orders@orderflow.example',
      Destination: { ToAddresses: [ADDRESS] },
      Template: 'orderflow-order-confirmed',
    });
    expect(JSON.parse(input?.TemplateData ?? '{}')).toEqual({
      orderId: '5b0e7c2a-4f1d-4c3e-9a61-0000000000a1',
      status: 'CONFIRMED',
      reason: null,
      totalCents: 3399,
      total: '€33.99',
      currency: 'EUR',
      items: [
        { sku: 'SKU-RED-MUG', quantity: 2 },
        { sku: 'SKU-TEA-250G', quantity: 1 },
      ],
    });
    expect(sesInputs()).toHaveLength(1);
  });

  it.each([
    ['order-cancelled', 'CANCELLED', 'OUT_OF_STOCK', '£12.50'],
    ['order-rejected', 'REJECTED', 'UNKNOWN_SKU', '$0.00'],
  ])('sends the cancellation email for %s', async (name, status, reason, total) => {
    // Act
    await handler(fixture(name), context);

    // Assess
    const [input] = sesInputs();
    expect(input).toMatchObject({ Destination: { ToAddresses: [ADDRESS] }, Template: 'orderflow-order-cancelled' });
    expect(JSON.parse(input?.TemplateData ?? '{}')).toMatchObject({ status, reason, total });
  });

  it('records the transition in the idempotency table, keyed by its transition id', async () => {
    // Prepare
    const again = fixture('order-confirmed');
    again.id = 'a-different-eventbridge-event-id';

    // Act
    await handler(fixture('order-confirmed'), context);
    await handler(again, context);

    // Assess
    const puts = dynamo.commandCalls(PutItemCommand).map((c) => c.args[0].input);
    expect(puts[0]).toMatchObject({ TableName: TABLE, Item: { status: { S: 'INPROGRESS' } } });
    expect(puts[0]?.Item?.id?.S).toMatch(/^send-order-email#/);
    expect(puts[1]?.Item?.id).toEqual(puts[0]?.Item?.id);
    const [update] = dynamo.commandCalls(UpdateItemCommand).map((c) => c.args[0].input);
    expect(update).toMatchObject({ TableName: TABLE, Key: puts[0]?.Item ? { id: puts[0].Item.id } : {} });
    expect(update?.ExpressionAttributeValues?.[':status']).toEqual({ S: 'COMPLETED' });
  });

  it('sends one email when EventBridge delivers the event twice', async () => {
    // Prepare: the second lock attempt finds the completed record, as DynamoDB returns it (ALL_OLD).
    const first = await handler(fixture('order-confirmed'), context);
    const [put] = dynamo.commandCalls(PutItemCommand).map((c) => c.args[0].input);
    if (!put) throw new Error('the first delivery took no idempotency lock');
    dynamo.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: completedRecord(put, { ...first }),
      }),
    );

    // Act
    const second = await handler(fixture('order-confirmed'), context);

    // Assess
    expect(sesInputs()).toHaveLength(1);
    expect(second).toEqual(first);
    expect(output.join('')).toContain('email already sent for this transition');
    // The claim is one conditional PutItem whose failure carries the record (ALL_OLD): no GetItem, first or again.
    expect(dynamo.calls().map((c) => c.args[0].constructor.name)).toEqual([
      'PutItemCommand',
      'UpdateItemCommand',
      'PutItemCommand',
    ]);
  });

  it('fails when SES fails, releases the idempotency record, and the retry sends the email', async () => {
    // Prepare
    ses
      .on(SendTemplatedEmailCommand)
      .rejectsOnce(
        Object.assign(new Error(`Email address is not verified. The following identities failed: ${ADDRESS}`), {
          name: 'MessageRejected',
        }),
      )
      .resolves({ MessageId: 'ses-msg-2' });

    // Act
    const failure = await handler(fixture('order-confirmed'), context).catch((e: unknown) => e);
    const retry = await handler(fixture('order-confirmed'), context);

    // Assess
    expect((failure as Error).message).toContain('could not send orderflow-order-confirmed');
    expect((failure as Error).message).not.toContain(ADDRESS);
    const [deleted] = dynamo.commandCalls(DeleteItemCommand).map((c) => c.args[0].input);
    const [lock] = dynamo.commandCalls(PutItemCommand).map((c) => c.args[0].input);
    expect(deleted).toEqual({ TableName: TABLE, Key: { id: lock?.Item?.id } });
    expect(retry.messageId).toBe('ses-msg-2');
    expect(sesInputs()).toHaveLength(2);
  });

  it('fails when the detail is invalid, and takes no lock and sends nothing', async () => {
    // Act
    const failure = await handler(fixture('invalid-detail'), context).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(ValidationError);
    expect((failure as Error).message).toMatch(/^invalid OrderConfirmed detail: .*email.*totalCents.*items/);
    expect(dynamo.calls()).toHaveLength(0);
    expect(sesInputs()).toHaveLength(0);
  });

  it('never writes the recipient address to the logs', async () => {
    // Prepare
    ses
      .on(SendTemplatedEmailCommand)
      .resolvesOnce({ MessageId: 'ses-msg-1' })
      .rejectsOnce(Object.assign(new Error(`Address blacklisted: ${ADDRESS}`), { name: 'MessageRejected' }));

    // Act
    await handler(fixture('order-confirmed'), context);
    await handler(fixture('order-cancelled'), context).catch(() => undefined);
    await handler(fixture('invalid-detail'), context).catch(() => undefined);

    // Assess
    const logs = output.join('');
    expect(logs).toContain('"recipient":"a***@example.com"');
    expect(logs).not.toContain(ADDRESS);
    expect(logs).not.toContain('ada.lovelace');
  });

  it('emits EmailsSent with the template as dimension', async () => {
    // Act
    await handler(fixture('order-rejected'), context);

    // Assess
    const emf = output
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"EmailsSent"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ EmailsSent: 1, template: 'orderflow-order-cancelled' });
    const aws = emf[0]?._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] } | undefined;
    expect(aws?.CloudWatchMetrics[0]?.Dimensions[0]).toContain('template');
  });

  it('emits TransitionsDelivered for every delivery, duplicates included, and never an empty flush', async () => {
    // Act
    await handler(fixture('order-rejected'), context);
    await handler(fixture('order-rejected'), context);

    // Assess
    const logs = output.join('');
    const delivered = logs.split('\n').filter((line) => line.includes('"TransitionsDelivered"'));
    expect(delivered).toHaveLength(2);
    expect(logs).not.toContain('No application metrics to publish');
  });

  it('uses the templates it is given', async () => {
    // Prepare
    const custom = handlerWith('shop@orderflow.example', {
      confirmation: 'shop-confirmed',
      cancellation: 'shop-cancelled',
    });

    // Act
    await custom(fixture('order-confirmed'), context);
    await custom(fixture('order-cancelled'), context);

    // Assess
    expect(sesInputs().map((i) => [i.Source, i.Template])).toEqual([
      ['shop@orderflow.example', 'shop-confirmed'],
      ['shop@orderflow.example', 'shop-cancelled'],
    ]);
  });
});
