/**
 * Counts the AWS SDK calls made in this thread, by service and operation (`DynamoDB.PutItem`), with a middleware
 * in the `initialize` step of every client's stack: one count per call the code makes, whatever the SDK's retries
 * do after it. The sandboxes install it before their function loads, so every client the function creates is
 * counted without the function knowing; `npm run dev` serves the totals to the dashboard and the load benchmark.
 */
import { Client } from '@smithy/core/client';
import type {
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  MiddlewareStack,
} from '@smithy/types';

/** Calls per `Service.Operation`. */
export type AwsCallCounts = Record<string, number>;

/** A client whose calls can be counted. */
export interface CountableClient<I extends object = object, O extends object = object> {
  readonly middlewareStack: MiddlewareStack<I, O>;
}

/** Calls counted since the last `take`. */
export interface AwsCallCounter {
  /** The calls counted since the last `take` (or since counting began), and resets them. */
  take(): AwsCallCounts;
  /** Counts the calls of `client` from now on (once per middleware stack, however often it is watched). */
  watch<I extends object, O extends object>(client: CountableClient<I, O>): void;
}

let counters = 0;

/**
 * A counter of the calls of the clients it watches.
 *
 * @example
 * const counter = awsCallCounter();
 * counter.watch(sqs);
 * await sqs.send(new ReceiveMessageCommand(...));
 * counter.take(); // { 'SQS.ReceiveMessage': 1 }
 */
export function awsCallCounter(): AwsCallCounter {
  let counts: AwsCallCounts = {};
  counters += 1;
  const name = `orderflowCallCounter${counters}`;
  const stacks = new WeakSet<object>();
  return {
    take() {
      const taken = counts;
      counts = {};
      return taken;
    },
    watch<I extends object, O extends object>(client: CountableClient<I, O>) {
      // A document client shares its stack with the client it wraps: one middleware per stack.
      if (stacks.has(client.middlewareStack)) return;
      stacks.add(client.middlewareStack);
      client.middlewareStack.add(
        (next: InitializeHandler<I, O>, context: HandlerExecutionContext) =>
          function countCall(args: InitializeHandlerArguments<I>) {
            const key = `${serviceOf(context.clientName)}.${operationOf(context.commandName)}`;
            counts[key] = (counts[key] ?? 0) + 1;
            return next(args);
          },
        { step: 'initialize', name, priority: 'high' },
      );
    },
  };
}

let everyClient: AwsCallCounter | undefined;

/**
 * Counts the calls of every SDK client of this thread (each is watched on its first call); calling it again
 * returns the same counter. For a thread whose every call is the function's: a sandbox.
 *
 * @example
 * const counter = countEveryClient();
 * await doc.send(new PutCommand(...));
 * counter.take(); // { 'DynamoDB.PutItem': 1 }
 */
export function countEveryClient(): AwsCallCounter {
  if (everyClient) return everyClient;
  const counter = awsCallCounter();
  const send = Client.prototype.send;
  Client.prototype.send = function sendCounted(this: unknown, ...args: unknown[]) {
    counter.watch(this as CountableClient);
    return (send as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof send;
  everyClient = counter;
  return counter;
}

/** `DynamoDBClient` → `DynamoDB`. */
function serviceOf(clientName: string | undefined): string {
  return (clientName ?? 'Unknown').replace(/Client$/, '');
}

/** `PutItemCommand` → `PutItem`. */
function operationOf(commandName: string | undefined): string {
  return (commandName ?? 'Unknown').replace(/Command$/, '');
}

/** Adds `more` into `into`. */
export function addCounts(into: AwsCallCounts, more: Readonly<AwsCallCounts>): void {
  for (const [key, n] of Object.entries(more)) into[key] = (into[key] ?? 0) + n;
}
