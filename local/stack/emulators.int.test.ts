/**
 * The AWS emulators of the local stack: their state survives a restart (so orders stay consistent with the
 * Kafka topics across `stack:down` / `stack:up`), and MiniStack's in-memory logs stay bounded. Needs
 * `npm run stack:up` first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateTemplateCommand,
  SESClient,
  SendTemplatedEmailCommand,
  VerifyEmailIdentityCommand,
} from '@aws-sdk/client-ses';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { localTableName, TABLES } from '../../shared/tables.js';
import { sentEmails } from './emails.js';
import { ministackSpec, startEmulators, stopEmulators } from './emulators.js';
import { ministackHealth } from './health.js';
import { requireRunningStack } from './preflight.js';
import { waitFor } from './processes.js';

beforeAll(async () => {
  await requireRunningStack();
}, 30_000);

describe('the emulators across a restart', () => {
  it('keep DynamoDB items and queued SQS messages', async () => {
    // Prepare
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    const sqs = new SQSClient({});
    const orderId = `restart-probe-${Date.now()}`;
    const table = localTableName(TABLES.ORDER_STATUS);
    await doc.send(new PutCommand({ TableName: table, Item: { orderId, status: 'PLACED' } }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `restart-probe-${Date.now()}` }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: orderId }));

    // Act
    await stopEmulators(() => {}, { wipe: false });
    await startEmulators(() => {});

    // Assess
    const { Item } = await doc.send(new GetCommand({ TableName: table, Key: { orderId } }));
    expect(Item).toEqual({ orderId, status: 'PLACED' });
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 }));
    expect(Messages.map((m) => m.Body)).toEqual([orderId]);
  }, 120_000);
});

describe('MiniStack with a capped log', () => {
  const port = 4599;
  const endpoint = `http://127.0.0.1:${port}`;
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'orderflow-ministack-'));
  let child: ChildProcess;

  beforeAll(async () => {
    const spec = ministackSpec({
      GATEWAY_PORT: String(port),
      ORDERFLOW_EMULATOR_LOG_CAP: '5',
      PERSIST_STATE: '0',
      STATE_DIR: stateDir,
    });
    child = spawn(spec.command, [...spec.args], { env: spec.env, stdio: 'ignore' });
    await waitFor(`a second MiniStack on ${endpoint}`, async () => (await ministackHealth(endpoint)).healthy, {
      timeoutMs: 60_000,
    });
  }, 90_000);

  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('keeps only the newest emails beyond the cap', async () => {
    // Prepare
    const ses = new SESClient({ endpoint });
    await ses.send(new VerifyEmailIdentityCommand({ EmailAddress: 'orders@orderflow.local' }));
    await ses.send(
      new CreateTemplateCommand({
        Template: {
          TemplateName: 'probe',
          SubjectPart: 'Your order {{orderId}} is confirmed',
          TextPart: '{{orderId}}',
        },
      }),
    );

    // Act
    for (let i = 0; i < 20; i += 1) {
      await ses.send(
        new SendTemplatedEmailCommand({
          Source: 'orders@orderflow.local',
          Destination: { ToAddresses: ['ada@example.com'] },
          Template: 'probe',
          TemplateData: JSON.stringify({ orderId: `o-${i}` }),
        }),
      );
    }

    // Assess
    const emails = await sentEmails(endpoint);
    expect(emails.length).toBeGreaterThanOrEqual(5);
    expect(emails.length).toBeLessThanOrEqual(6);
    expect(emails.at(-1)?.orderId).toBe('o-19');
    expect(emails.map((e) => e.orderId)).not.toContain('o-0');
  }, 60_000);
});
