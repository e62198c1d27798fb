/**
 * send-order-email over its ports: the env schema and the `createHandler` the Lambda entry (`handler.ts`) and the
 * tests build on. No module-scope side effects.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { envSchemaOf } from '../../shared/functions.js';
import { logger, maskEmail, metrics, traceInvocations } from '../../shared/observability.js';
import type { BusDetailType, FunctionName } from '../../shared/topology.js';
import {
  type EmailSender,
  type EmailTemplates,
  type OrderTransitionEvent,
  parseTransitionEvent,
  type SentEmail,
  sendOrderEmail,
} from './send-order-email.js';

const FUNCTION: FunctionName = 'send-order-email';
/** EventBridge retries a target for up to 24 hours; a record kept as long catches every redelivery. */
const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/** Environment of send-order-email, from its contract: idempotency table, sender, SES template names. */
export const sendOrderEmailEnv = envSchemaOf('send-order-email');

/** What `createHandler` needs. */
export interface SendOrderEmailDeps {
  readonly sender: EmailSender;
  /** Where idempotency records live (IDEMPOTENCY_TABLE in AWS). */
  readonly persistenceStore: BasePersistenceLayer;
  /** Verified sender address. */
  readonly source: string;
  readonly templates: EmailTemplates;
}

/** The send-order-email handler over `deps`; tests pass mocked SES and DynamoDB clients. */
export function createHandler(deps: SendOrderEmailDeps) {
  const sendOnce = makeIdempotent(
    async (transition: OrderTransitionEvent, _context: Context): Promise<SentEmail> => {
      const sent = await sendOrderEmail(transition, deps);
      logger.info('order email sent', {
        template: sent.template,
        recipient: maskEmail(transition.detail.email),
        messageId: sent.messageId,
      });
      const metric = metrics.singleMetric();
      metric.addDimension('template', sent.template);
      metric.addMetric('EmailsSent', MetricUnit.Count, 1);
      return sent;
    },
    {
      persistenceStore: deps.persistenceStore,
      // A fixed prefix, not the function name: replacing the function must not forget what was sent.
      keyPrefix: FUNCTION,
      config: new IdempotencyConfig({
        eventKeyJmesPath: 'detail.transitionId',
        throwOnNoIdempotencyKey: true,
        expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS,
        responseHook: (response) => {
          logger.info('email already sent for this transition; delivery ignored');
          return response;
        },
      }),
    },
  );

  return middy<EventBridgeEvent<BusDetailType, unknown>, SentEmail, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(traceInvocations)
    .handler(async (event, context) => {
      // Validate before taking the idempotency lock: a malformed event must not leave a record behind.
      const transition = parseTransitionEvent(event);
      logger.appendKeys({
        orderId: transition.detail.orderId,
        transitionId: transition.detail.transitionId,
        correlationId: transition.detail.correlationId,
        eventId: event.id,
      });
      const sent = await sendOnce(transition, context);
      // Every delivery counts, duplicates included; it also keeps logMetrics from warning about an empty flush
      // (EmailsSent is a single metric, flushed on its own to carry the template dimension).
      metrics.addMetric('TransitionsDelivered', MetricUnit.Count, 1);
      return sent;
    });
}
