/** Helpers of `npm run dev`'s status line and dashboard: rates, and the analytics table as they read it. */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { minuteOf } from '../../functions/order-analytics/order-analytics.js';
import { CURRENCIES, type Currency } from '../../shared/events.js';

/** A cumulative counter read at one instant. */
export interface Sample {
  /** Epoch ms. */
  readonly at: number;
  readonly count: number;
}

/**
 * Rate of a cumulative counter between its oldest and newest sample, per second; 0 with fewer than two samples.
 *
 * @example
 * ratePerSecond([{ at: 0, count: 0 }, { at: 5_000, count: 50 }]); // 10
 */
export function ratePerSecond(samples: readonly Sample[]): number {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last.at <= first.at) return 0;
  return ((last.count - first.count) * 1000) / (last.at - first.at);
}

/** Orders and revenue of one currency in one bucket of the analytics table. */
export interface CurrencyCount {
  readonly orders: number;
  readonly revenueCents: number;
}

/** What the analytics table holds for the last minutes and overall, per currency. */
export interface AnalyticsReading {
  /** One entry per minute (`yyyy-mm-ddThh:mm`, UTC), oldest first, the current minute last. */
  readonly minutes: readonly { readonly minute: string; readonly byCurrency: Record<Currency, CurrencyCount> }[];
  /** Running totals (`TOTAL#<currency>`). */
  readonly totals: Record<Currency, CurrencyCount>;
}

/**
 * Reads the last `minutes` minute buckets and the running totals of the analytics table: one BatchGet of
 * `minutes` × 3 + 3 point reads (`MINUTE#<minute>#<currency>`, `TOTAL#<currency>`), whatever the number of orders.
 * A key DynamoDB leaves unprocessed counts as empty.
 *
 * @example
 * const { minutes, totals } = await readAnalytics(doc, localTableName(TABLES.ANALYTICS), 15);
 */
export async function readAnalytics(
  doc: DynamoDBDocumentClient,
  table: string,
  minutes: number,
  now: number = Date.now(),
): Promise<AnalyticsReading> {
  if (!(Number.isInteger(minutes) && minutes >= 1 && minutes <= 30)) {
    throw new RangeError(`minutes must be an integer from 1 to 30 (one BatchGet), got ${minutes}`);
  }
  const buckets = Array.from({ length: minutes }, (_, i) => minuteOf(now - (minutes - 1 - i) * 60_000));
  const keys = [
    ...buckets.flatMap((m) => CURRENCIES.map((c) => ({ pk: `MINUTE#${m}#${c}` }))),
    ...CURRENCIES.map((c) => ({ pk: `TOTAL#${c}` })),
  ];
  const result = await doc.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys } } }));
  const items = new Map((result.Responses?.[table] ?? []).map((item) => [String(item.pk), item]));
  const count = (pk: string): CurrencyCount => {
    const item = items.get(pk);
    return { orders: Number(item?.orders ?? 0), revenueCents: Number(item?.revenueCents ?? 0) };
  };
  const perCurrency = (pk: (c: Currency) => string) =>
    Object.fromEntries(CURRENCIES.map((c) => [c, count(pk(c))])) as Record<Currency, CurrencyCount>;
  return {
    minutes: buckets.map((minute) => ({ minute, byCurrency: perCurrency((c) => `MINUTE#${minute}#${c}`) })),
    totals: perCurrency((c) => `TOTAL#${c}`),
  };
}

/**
 * The status line's revenue of the current minute and running average order value, per currency, formatted:
 * `€12.00 + $3.50`, `€8.00 / $3.50`; `0` and `-` before any order.
 */
export function statusAnalytics(reading: AnalyticsReading): { revenueMinute: string; averageValue: string } {
  const money = (cents: number, currency: string) =>
    new Intl.NumberFormat('en', { style: 'currency', currency }).format(cents / 100);
  const current = reading.minutes.at(-1)?.byCurrency;
  const revenue: string[] = [];
  const average: string[] = [];
  for (const currency of CURRENCIES) {
    const thisMinute = current?.[currency];
    if (thisMinute && thisMinute.orders > 0) revenue.push(money(thisMinute.revenueCents, currency));
    const total = reading.totals[currency];
    if (total.orders > 0) average.push(money(total.revenueCents / total.orders, currency));
  }
  return { revenueMinute: revenue.join(' + ') || '0', averageValue: average.join(' / ') || '-' };
}
