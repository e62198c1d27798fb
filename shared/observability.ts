/**
 * The one place that creates the Powertools logger, metrics and tracer. Every function imports these; the
 * service name comes from `POWERTOOLS_SERVICE_NAME` (set per function by the stack and the local runner).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';

/** Structured JSON logger; per-record keys (orderId, correlationId) are appended by the batch loop. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'orderflow' });

/** CloudWatch EMF metrics in the `orderflow` namespace. */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'orderflow',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'orderflow',
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
 * The middy middlewares that trace each invocation with X-Ray (Powertools `captureLambdaHandler`), or none when
 * tracing is off (`.use([])` adds nothing). The Tracer is only loaded when it will trace: importing it loads the X-Ray
 * SDK, whose context tracking installs a process-wide async hook that made every `await` 13x slower and every
 * AWS SDK call 50 % more expensive in CPU when we measured it (the local pipeline runs with tracing off).
 */
export const traceInvocations: MiddlewareObj[] = tracingEnabled()
  ? await (async () => {
      const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([
        import('@aws-lambda-powertools/tracer'),
        import('@aws-lambda-powertools/tracer/middleware'),
      ]);
      const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'orderflow' });
      return [captureLambdaHandler(tracer, { captureResponse: false })];
    })()
  : [];

/** Masks an email for logs: `j***@example.com`. Emails are PII and never logged in full. */
export function maskEmail(email: string): string {
  const at = email.indexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
