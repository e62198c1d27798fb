/** order-analytics' `OrderMetrics` port as CloudWatch EMF through Powertools metrics. */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { metrics } from '../../shared/observability.js';
import type { OrderMetrics } from './order-analytics.js';

/**
 * Per-order EMF metrics: `OrdersValidated` in the invocation's metrics, `Revenue` and `OrderValue` (cents) as
 * single metrics with a `currency` dimension, since sums across currencies mean nothing.
 */
export function emfOrderMetrics(target: Metrics = metrics): OrderMetrics {
  return {
    orderCounted: (count) => {
      target.addMetric('OrdersValidated', MetricUnit.Count, 1);
      for (const name of ['Revenue', 'OrderValue']) {
        // One single metric each: a single metric flushes and clears its dimensions on every addMetric.
        const single = target.singleMetric();
        single.addDimension('currency', count.currency);
        single.addMetric(name, MetricUnit.Count, count.revenueCents);
      }
    },
  };
}
