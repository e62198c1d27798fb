/**
 * The one place that creates the Powertools logger, metrics and tracer. Every function imports these; the
 * service name comes from `POWERTOOLS_SERVICE_NAME` (set per function by the stack and the local runner).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/** Structured JSON logger; per-record keys (orderId, correlationId) are appended by the batch loop. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'orderflow' });

/** CloudWatch EMF metrics in the `orderflow` namespace. */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'orderflow',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'orderflow',
});

/** X-Ray tracer; disabled outside Lambda unless `POWERTOOLS_TRACE_ENABLED` says otherwise. */
export const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'orderflow' });

/** Masks an email for logs: `j***@example.com`. Emails are PII and never logged in full. */
export function maskEmail(email: string): string {
  const at = email.indexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
