/**
 * The one place that creates the Powertools logger, metrics and tracer. Every function imports these; the
 * service name comes from `POWERTOOLS_SERVICE_NAME` (set per function by the stack and the local runner).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type {
  ConstructorOptions,
  LogAttributes,
  LogItemExtraInput,
  LogItemMessage,
} from '@aws-lambda-powertools/logger/types';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { OrderflowError } from './errors.js';
import { inInvocationState, invocationState } from './invocation-state.js';

/**
 * Runs `fn` with record log keys of its own: what `setRecordLogKeys` sets inside it is added to every line the
 * logger writes inside it, and is gone when it ends. The keys are held per invocation (shared/invocation-state.ts).
 *
 * @example
 * await withRecordLogKeys(() => processKafkaBatch(records, options));
 */
export function withRecordLogKeys<T>(fn: () => Promise<T>): Promise<T> {
  return inInvocationState(async (state) => {
    try {
      return await fn();
    } finally {
      state.recordLogKeys = undefined;
    }
  });
}

/**
 * Sets the keys of the record being handled (orderId, correlationId), over the previous record's; `undefined`
 * clears them. Outside an invocation's state (`withRecordLogKeys`, `withInvocationOutbox`), nothing is set.
 */
export function setRecordLogKeys(keys: LogAttributes | undefined): void {
  const state = invocationState();
  if (state) state.recordLogKeys = keys;
}

/**
 * The Powertools logger, adding the keys of the record being handled to each line it writes. Powertools'
 * `appendKeys` would do the same, at a cost per record, logged or not: it reads two environment variables and
 * merges objects on every call, 10 % of validate-order's batch time in `npm run bench`. Here a record costs one
 * field write, and the keys are merged only into lines written (before the line's own attributes, which win).
 */
class OrderflowLogger extends Logger {
  protected override processLogItem(logLevel: number, input: LogItemMessage, extraInput: LogItemExtraInput): void {
    const keys = invocationState()?.recordLogKeys;
    // Powertools reads each extra input in turn (an object, an Error or a string), so a mixed list is fine.
    super.processLogItem(logLevel, input, keys ? ([keys, ...extraInput] as LogItemExtraInput) : extraInput);
  }

  // Children (`createChild`) add the record keys too.
  protected override createLogger(options?: ConstructorOptions): Logger {
    return new OrderflowLogger(options);
  }
}

/**
 * Whether `error` is a failure the code expects and handles, so its stack says nothing its name, message and
 * location do not: one of our classified errors (`OrderflowError`: transient or permanent), an AWS service's
 * answer (`$metadata`), a kafkajs error, or a Powertools idempotency store error. Anything else is a bug until
 * shown otherwise, and keeps its stack.
 */
export function isExpectedError(error: Error): boolean {
  return (
    error instanceof OrderflowError ||
    '$metadata' in error ||
    error.name.startsWith('KafkaJS') ||
    error.name.startsWith('Idempotency')
  );
}

/** Where an error was thrown, `file:line`, read from its stack as Powertools reads it. */
function codeLocation(stack: string | undefined): string {
  for (const line of stack?.split('\n') ?? []) {
    const match = /\(([^()]*?):(\d+?):(\d+?)\)\\?$/.exec(line);
    if (match) return `${match[1]}:${Number(match[2])}`;
  }
  return '';
}

/** An error as Powertools formats it (name, location, message, cause chain, own fields), without the stacks. */
function withoutStacks(error: Error): Record<string, unknown> {
  const { name, message, stack, cause, ...fields } = error as Error & Record<string, unknown>;
  const formatted: Record<string, unknown> = { name, location: codeLocation(stack), message };
  if (cause !== undefined) formatted.cause = cause instanceof Error ? withoutStacks(cause) : cause;
  return Object.assign(formatted, fields);
}

/**
 * Leaves out the stack traces of expected errors (`isExpectedError`) and of their causes: a planned outage, a
 * throttled call or a poison record is logged at its level with its name, message and location, and an
 * unexpected error in full. At DEBUG (`POWERTOOLS_LOG_LEVEL=DEBUG`, or `ORDERFLOW_LOG_LEVEL=debug`) every stack
 * is kept.
 */
function quietExpectedErrors(debug: () => boolean): (key: string, value: unknown) => unknown {
  return (_key, value) => (value instanceof Error && isExpectedError(value) && !debug() ? withoutStacks(value) : value);
}

/** Structured JSON logger; the batch loop adds each record's keys (orderId, correlationId) to its lines. */
export const logger: Logger = new OrderflowLogger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'orderflow',
  logLevel: process.env.ORDERFLOW_LOG_LEVEL?.toLowerCase() === 'debug' ? 'DEBUG' : undefined,
  jsonReplacerFn: quietExpectedErrors(() => logger.getLevelName() === 'DEBUG'),
});

/**
 * Where Metrics' own messages go: the console, but for the warning Powertools logs after every invocation that
 * added no metric (an order-api 404 or 503, an ignored event), even with metrics disabled. An empty invocation is
 * normal here; one log line each would be noise in every log group and in `npm run dev`.
 */
export const metricsLogger = {
  debug: (...content: unknown[]) => console.debug(...content),
  info: (...content: unknown[]) => console.info(...content),
  warn: (...content: unknown[]) => {
    if (typeof content[0] === 'string' && content[0].startsWith('No application metrics to publish')) return;
    console.warn(...content);
  },
  error: (...content: unknown[]) => console.error(...content),
};

/** CloudWatch EMF metrics in the `orderflow` namespace. */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'orderflow',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'orderflow',
  logger: metricsLogger,
});

/**
 * Whether invocations are traced with X-Ray: in Lambda (`AWS_EXECUTION_ENV` set) unless
 * `POWERTOOLS_TRACE_ENABLED=false`, elsewhere only with `POWERTOOLS_TRACE_ENABLED=true` (Powertools' own rule).
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.POWERTOOLS_TRACE_ENABLED === 'true') return true;
  return env.POWERTOOLS_TRACE_ENABLED !== 'false' && Boolean(env.AWS_EXECUTION_ENV);
}

/**
 * The X-Ray tracer, or undefined when tracing is off. It is only loaded when it will trace: importing it loads the
 * X-Ray SDK, whose context tracking installs a process-wide async hook that made every `await` 13x slower and
 * every AWS SDK call 50 % more expensive in CPU when we measured it (the local pipeline runs with tracing off).
 */
const tracer = tracingEnabled()
  ? await import('@aws-lambda-powertools/tracer').then(
      ({ Tracer }) => new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'orderflow' }),
    )
  : undefined;

/**
 * The middy middlewares that trace each invocation with X-Ray (Powertools `captureLambdaHandler`), or none when
 * tracing is off (`.use([])` adds nothing).
 */
export const traceInvocations: MiddlewareObj[] = tracer
  ? [
      (await import('@aws-lambda-powertools/tracer/middleware')).captureLambdaHandler(tracer, {
        captureResponse: false,
      }),
    ]
  : [];

/**
 * `client` with each of its calls traced as an X-Ray subsegment when tracing is on (`captureAWSv3Client`), as it
 * is otherwise. Trace a DynamoDB client before wrapping it in a document client: the wrapper shares its stack.
 *
 * @example
 * const ses = traced(new SESClient({ region }));
 */
export function traced<T>(client: T): T {
  return tracer ? tracer.captureAWSv3Client(client) : client;
}

/** Masks an email for logs: `j***@example.com`. Emails are PII and never logged in full. */
export function maskEmail(email: string): string {
  const at = email.indexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

/** What a saga step decided for one event: the status it settled on (none for an event it ignores), and whether
 * this delivery changed it or only re-emitted an earlier decision. */
export interface StepOutcome {
  readonly status?: string;
  readonly changed: boolean;
}

/**
 * Logs a saga step's outcome for an event of `type` and, when this delivery changed it, counts one
 * `<metricPrefix><Status>` (`PaymentsCharged`, `ReservationsReleased`); an event without a status is not reported.
 *
 * @example
 * reportStepOutcome('payment', 'Payments', event.type, await handlePaymentEvent(event, ports, trace));
 */
export function reportStepOutcome(subject: string, metricPrefix: string, type: string, outcome: StepOutcome): void {
  const { status, changed } = outcome;
  if (status === undefined) return;
  if (changed) {
    logger.info(`${subject} changed`, { type, status });
    metrics.addMetric(`${metricPrefix}${status.charAt(0)}${status.slice(1).toLowerCase()}`, MetricUnit.Count, 1);
  } else {
    logger.info(`${subject} already decided; outcome re-emitted`, { type, status });
  }
}
