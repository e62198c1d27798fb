/**
 * EventBridge targets, locally. The emulator cannot invoke functions, so each rule routes into an SQS queue
 * (`orderflow-<rule>`, provisioned by `stack:up`); this poller receives from it and invokes the rule's target
 * handler with the EventBridge event, as EventBridge would. A failed delivery is retried with exponential
 * backoff; after the rule's `maxRetries` (or `maxEventAgeSeconds`) it goes to the rule's dead-letter queue
 * (`orderflow-<rule>-dlq`) with the error, as a rule target's DLQ would receive it.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type { RuleSpec } from '../../shared/topology.js';
import { lambdaContext } from '../esm/context.js';
import { ruleQueues } from '../provision/eventbridge.js';

/** A handler targeted by an EventBridge rule. */
export type EventBridgeHandler = (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<unknown>;

/** Seconds to wait before the `attempt`-th retry (1-based): 1, 2, 4 ... capped at 60. */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(2 ** (attempt - 1), 60);
}

/** Counters of one rule poller. */
export interface RuleStats {
  delivered: number;
  retried: number;
  deadLettered: number;
}

/** Options of `startRulePoller`. */
export interface RulePollerOptions {
  readonly rule: RuleSpec;
  readonly sqs: SQSClient;
  readonly handler: EventBridgeHandler;
  readonly log?: (message: string) => void;
  /** Long-poll wait per receive, seconds. @default 1 */
  readonly waitSeconds?: number;
  /**
   * Receive loops, each delivering its up to 10 messages concurrently (EventBridge invokes targets
   * asynchronously, many at once). @default 1
   */
  readonly concurrency?: number;
}

/**
 * Polls a rule's queue until `stop()`; deliveries of one message never overlap (its visibility timeout hides it).
 *
 * @example
 * const poller = await startRulePoller({ rule: RULES[0], sqs, handler });
 */
export async function startRulePoller(
  options: RulePollerOptions,
): Promise<{ stats: RuleStats; stop(): Promise<void> }> {
  const { rule, sqs } = options;
  const names = ruleQueues(rule);
  const queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: names.queue }))).QueueUrl;
  const dlqUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: names.deadLetterQueue }))).QueueUrl;
  if (!queueUrl || !dlqUrl) throw new Error(`queues for rule ${rule.name} are missing: run npm run stack:up`);
  const stats: RuleStats = { delivered: 0, retried: 0, deadLettered: 0 };
  let running = true;

  /** Delivers one message; true when it is done with (delivered or dead-lettered) and is to be deleted. */
  const handle = async (message: Message): Promise<boolean> => {
    const attempt = Number(message.Attributes?.ApproximateReceiveCount ?? '1');
    const event = JSON.parse(message.Body ?? '{}') as EventBridgeEvent<string, unknown>;
    try {
      await options.handler(event, lambdaContext(rule.target, 30_000));
      stats.delivered += 1;
    } catch (error) {
      const ageSeconds = (Date.now() - Date.parse(event.time ?? new Date().toISOString())) / 1000;
      if (attempt > rule.maxRetries || ageSeconds > rule.maxEventAgeSeconds) {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: dlqUrl,
            MessageBody: message.Body ?? '',
            MessageAttributes: {
              ERROR_CODE: { DataType: 'String', StringValue: (error as Error).name ?? 'Error' },
              ERROR_MESSAGE: {
                DataType: 'String',
                StringValue: String((error as Error).message ?? error).slice(0, 1000),
              },
              RULE_ARN: {
                DataType: 'String',
                StringValue: `arn:aws:events:us-east-1:000000000000:rule/orderflow/${rule.name}`,
              },
              TARGET_ARN: {
                DataType: 'String',
                StringValue: `arn:aws:lambda:us-east-1:000000000000:function:${rule.target}`,
              },
            },
          }),
        );
        stats.deadLettered += 1;
        options.log?.(
          `${rule.target}: event ${event.id} dead-lettered after ${attempt} attempts: ${(error as Error).message}`,
        );
      } else {
        stats.retried += 1;
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: retryDelaySeconds(attempt),
          }),
        );
        return false;
      }
    }
    return true;
  };

  // One DeleteMessageBatch per received batch instead of a DeleteMessage per event: the same outcome in a tenth
  // of the calls. An entry SQS fails to delete is delivered again after its visibility timeout, and the targets
  // are idempotent, as they must be for EventBridge's at-least-once delivery.
  const deleteDone = async (done: readonly Message[]) => {
    if (done.length === 0) return;
    const { Failed = [] } = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    for (const failure of Failed) {
      options.log?.(
        `${rule.name} poller: could not delete a delivered event (${failure.Code}); it will be redelivered`,
      );
    }
  };

  // One line when the queue becomes unreachable (or fails differently) and one when it answers again, not one per
  // second of an outage per loop.
  let lastError: string | undefined;
  const receiveLoop = async () => {
    while (running) {
      try {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: options.waitSeconds ?? 1,
            VisibilityTimeout: 30,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        if (lastError !== undefined) {
          options.log?.(`${rule.name} poller: the queue answers again`);
          lastError = undefined;
        }
        const outcomes = await Promise.all(Messages.map(handle));
        await deleteDone(Messages.filter((_, i) => outcomes[i]));
      } catch (error) {
        const message = (error as Error).message;
        if (message !== lastError) options.log?.(`${rule.name} poller: ${message}; retrying every second`);
        lastError = message;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  };
  const loops = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, receiveLoop);

  return {
    stats,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
