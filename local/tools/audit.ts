/**
 * The audit of a set of orders after a run, shared by the load benchmark (`npm run bench -- --load`) and the load
 * integration test (`local/dev/load.e2e.test.ts`): given the orders placed and when, it reads what the pipeline
 * made of them (order-status rows, reservation markers, payment records, stock, sent emails) and checks each
 * effect happened exactly once. The readers talk to the local stack; `auditOrders` is pure.
 *
 * Where each effect is counted:
 * - status: the ORDER_STATUS row. Its facts say when the final status was decided (the event times stamped by
 *   reserve-inventory / process-payment / validate-order), not when order-status wrote it, so
 *   `trackFinalStatuses` also polls the rows and records when each order was first seen final.
 * - stock: `SKU#<sku>.available` before and after, against the quantities the orders' RESERVED markers hold (the
 *   transaction that takes stock writes the marker; releasing it gives the stock back), which are the confirmed
 *   quantities once every order is final; plus each final order's marker: RESERVED for a confirmed one only.
 * - charges: the `PAYMENT#<orderId>` record. The simulated gateway keeps no ledger for `tok_visa` (only
 *   `tok_flaky` counts attempts in `GATEWAY#<orderId>`), and each charge carries the order id as idempotency key,
 *   so the record is the ledger: CHARGED = one charge, REFUNDED = one charge and one refund.
 * - emails: MiniStack's sent-email log, accumulated by message id (it keeps only the newest entries).
 */
import { BatchGetCommand, type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { localTableName, TABLES } from '../../shared/tables.js';
import { type SentEmail, sentEmails, TEMPLATE_NAMES } from '../stack/emails.js';

/** A status an order never leaves. */
export type FinalStatus = 'CONFIRMED' | 'CANCELLED' | 'REJECTED';

/** The final statuses. */
export const FINAL_STATUSES: readonly FinalStatus[] = ['CONFIRMED', 'CANCELLED', 'REJECTED'];

/** Whether `status` is final. */
export function isFinalStatus(status: string | undefined): status is FinalStatus {
  return FINAL_STATUSES.includes(status as FinalStatus);
}

/** A SKU and a quantity. */
export interface AuditLine {
  readonly sku: string;
  readonly quantity: number;
}

/** One order the run placed. */
export interface PlacedOrder {
  readonly orderId: string;
  /** Epoch ms the order was offered (POST sent, or record produced). */
  readonly placedAt: number;
  readonly items: readonly AuditLine[];
  /** What the order must end as; undefined checks only that it ends. */
  readonly expected?: { readonly status: FinalStatus; readonly reason?: string };
  /** What a confirmed order must be charged, when the caller knows the prices. */
  readonly expectedTotalCents?: number;
}

/** A fact order-status recorded: when the event establishing it happened (epoch ms). */
interface FactTime {
  readonly at: number;
}

/** The parts of an ORDER_STATUS row the audit reads. */
export interface StatusRow {
  readonly status: string;
  readonly reason?: string;
  readonly totalCents?: number;
  readonly history: readonly { readonly status: string; readonly at: string }[];
  readonly facts?: {
    readonly rejected?: FactTime;
    readonly inventoryReserved?: FactTime;
    readonly inventoryRejected?: FactTime;
    readonly paymentProcessed?: FactTime;
    readonly paymentFailed?: FactTime;
  };
}

/** The parts of a `RESERVATION#<orderId>` marker the audit reads. */
export interface ReservationRow {
  readonly status: string;
  readonly lines: readonly AuditLine[];
}

/** The parts of a `PAYMENT#<orderId>` record the audit reads. */
export interface PaymentRow {
  readonly status: string;
  readonly amountCents?: number;
}

/** The parts of a sent email the audit reads. */
export type AuditEmail = Pick<SentEmail, 'messageId' | 'orderId' | 'template'>;

/** What the pipeline made of the orders, as read back from the stack. */
export interface AuditInput {
  readonly orders: readonly PlacedOrder[];
  readonly statuses: ReadonlyMap<string, StatusRow>;
  readonly reservations: ReadonlyMap<string, ReservationRow>;
  readonly payments: ReadonlyMap<string, PaymentRow>;
  /** Every email seen (any order); deduplicated by message id here. */
  readonly emails: readonly AuditEmail[];
  /** `available` per SKU before the run and now; only SKUs no one else orders give exact figures. */
  readonly stock?: { readonly before: ReadonlyMap<string, number>; readonly after: ReadonlyMap<string, number> };
  /** Epoch ms each order was first seen final by polling (`trackFinalStatuses`). */
  readonly observedFinalAt?: ReadonlyMap<string, number>;
}

/** Latency figures in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** A count of effects checked, and how many were missing or happened too often. */
export interface EffectCheck {
  /** Orders (or SKUs) checked. */
  readonly checked: number;
  /** Exactly as expected. */
  readonly ok: number;
  /** Missing effects: a confirmed order without its charge, stock or email. */
  readonly lost: number;
  /** Effects beyond one, or that must not exist (a cancelled order still charged, a second email). */
  readonly doubled: number;
  /** Up to 10 orderIds (or SKUs) of each kind of violation, for the report. */
  readonly examples: readonly string[];
}

/** Per-SKU stock movement against the orders. */
export interface SkuStock {
  readonly sku: string;
  /** before - after. */
  readonly decrement: number;
  /** Sum of the quantities of this SKU over the confirmed orders. */
  readonly confirmedQuantity: number;
  /**
   * Sum over every order holding a RESERVED marker, final or not: what the decrement must equal. It is the
   * confirmed quantity once every order is final (a cancelled order's stock is released).
   */
  readonly reservedQuantity: number;
}

/** The audit's findings. */
export interface AuditReport {
  readonly orders: number;
  readonly final: number;
  readonly byStatus: Readonly<Record<FinalStatus, number>>;
  /** Orders with no final status (still PLACED/VALIDATED, or no row at all). */
  readonly unfinished: readonly string[];
  /** Final orders whose status or reason differs from the expected one. */
  readonly unexpected: readonly { orderId: string; expected: string; actual: string }[];
  /** Placed → when the final status was decided (`decidedAt`: the deciding fact's event time). */
  readonly decidedLatency: LatencySummary;
  /** Placed → first seen final by polling; undefined without `observedFinalAt`. */
  readonly observedLatency?: LatencySummary;
  /** First placedAt to the last final time (observed when polled, else decided), epoch ms. */
  readonly window: { readonly firstPlacedAt: number; readonly lastFinalAt: number };
  /** Final orders per second over `window`. */
  readonly throughputPerSecond: number;
  readonly stock: {
    readonly perSku: readonly SkuStock[];
    /**
     * SKUs whose decrement is not the quantity the RESERVED markers hold (units: lost = decremented too little,
     * doubled = too much): stock moved without its marker, or twice.
     */
    readonly skus: EffectCheck;
    /** Each final order's reservation marker: confirmed RESERVED with its lines, the others holding nothing. */
    readonly reservations: EffectCheck;
  };
  /** Exactly one charge per confirmed order (of the expected amount), none left on any other. */
  readonly charges: EffectCheck;
  /** Exactly one email per final transition, of the template the status implies. */
  readonly emails: EffectCheck;
  /** Sum of lost and doubled over stock, charges and emails. */
  readonly violations: number;
}

/**
 * The p-th percentile (0..100) of `values`, nearest rank.
 *
 * @example
 * percentile([5, 1, 3], 50) // 3
 */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Count, p50, p99 and max of `values`. */
export function summarizeLatencies(values: readonly number[]): LatencySummary {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
  };
}

/**
 * Epoch ms at which the row's final status was decided: for CONFIRMED the later of InventoryReserved and
 * PaymentProcessed, for CANCELLED the first failure, for REJECTED the rejection (the facts' event times). The
 * history entry's `at` is the time of whichever of those events order-status happened to apply last, which under
 * a backlog can be the earlier one; it is the fallback when the facts are not there. Undefined when not final.
 */
export function decidedAt(row: StatusRow | undefined): number | undefined {
  if (!row || !isFinalStatus(row.status)) return undefined;
  const f = row.facts ?? {};
  const times = (...facts: (FactTime | undefined)[]) =>
    facts.filter((x): x is FactTime => x !== undefined).map((x) => x.at);
  if (row.status === 'CONFIRMED' && f.inventoryReserved && f.paymentProcessed) {
    return Math.max(f.inventoryReserved.at, f.paymentProcessed.at);
  }
  if (row.status === 'CANCELLED' && times(f.inventoryRejected, f.paymentFailed).length > 0) {
    return Math.min(...times(f.inventoryRejected, f.paymentFailed));
  }
  if (row.status === 'REJECTED' && f.rejected) return f.rejected.at;
  const entry = row.history.find((h) => h.status === row.status);
  return entry ? Date.parse(entry.at) : undefined;
}

/** The email template a final status sends: a confirmation, or a cancellation (CANCELLED and REJECTED alike). */
export function emailTemplateFor(status: FinalStatus): string {
  return status === 'CONFIRMED' ? TEMPLATE_NAMES.CONFIRMED : TEMPLATE_NAMES.CANCELLED;
}

/** Merges lines of the same SKU (as reserve-inventory does), sorted by SKU. */
export function mergedLines(lines: readonly AuditLine[]): AuditLine[] {
  const quantities = new Map<string, number>();
  for (const line of lines) quantities.set(line.sku, (quantities.get(line.sku) ?? 0) + line.quantity);
  return [...quantities].map(([sku, quantity]) => ({ sku, quantity })).sort((a, b) => a.sku.localeCompare(b.sku));
}

function sameLines(a: readonly AuditLine[], b: readonly AuditLine[]): boolean {
  const x = mergedLines(a);
  const y = mergedLines(b);
  return x.length === y.length && x.every((line, i) => line.sku === y[i]?.sku && line.quantity === y[i]?.quantity);
}

/** Tallies one effect per checked subject: 'ok', 'lost' or 'doubled' (with how many extra). */
class Tally {
  checked = 0;
  ok = 0;
  lost = 0;
  doubled = 0;
  private readonly lostExamples: string[] = [];
  private readonly doubledExamples: string[] = [];

  record(subject: string, verdict: 'ok' | 'lost' | 'doubled', extra = 1): void {
    this.checked += 1;
    if (verdict === 'ok') this.ok += 1;
    else if (verdict === 'lost') {
      this.lost += extra;
      if (this.lostExamples.length < 10) this.lostExamples.push(`lost:${subject}`);
    } else {
      this.doubled += extra;
      if (this.doubledExamples.length < 10) this.doubledExamples.push(`doubled:${subject}`);
    }
  }

  result(): EffectCheck {
    return {
      checked: this.checked,
      ok: this.ok,
      lost: this.lost,
      doubled: this.doubled,
      examples: [...this.lostExamples, ...this.doubledExamples],
    };
  }
}

/**
 * Checks what the pipeline made of `input.orders`. Only final orders are checked for effects (an unfinished
 * order is reported as such, not as a lost charge); stock is checked per SKU over every order placed.
 *
 * @example
 * const report = auditOrders({ orders, statuses, reservations, payments, emails, stock });
 * if (report.unfinished.length > 0 || report.violations > 0) process.exitCode = 1;
 */
export function auditOrders(input: AuditInput): AuditReport {
  const byStatus: Record<FinalStatus, number> = { CONFIRMED: 0, CANCELLED: 0, REJECTED: 0 };
  const unfinished: string[] = [];
  const unexpected: { orderId: string; expected: string; actual: string }[] = [];
  const decided: number[] = [];
  const observed: number[] = [];
  const reservations = new Tally();
  const charges = new Tally();
  const emails = new Tally();
  const emailsByOrder = new Map<string, AuditEmail[]>();
  const seen = new Set<string>();
  for (const email of input.emails) {
    if (seen.has(email.messageId) || email.orderId === undefined) continue;
    seen.add(email.messageId);
    emailsByOrder.set(email.orderId, [...(emailsByOrder.get(email.orderId) ?? []), email]);
  }
  const confirmedQuantity = new Map<string, number>();
  const reservedQuantity = new Map<string, number>();
  for (const order of input.orders) {
    const marker = input.reservations.get(order.orderId);
    if (marker?.status !== 'RESERVED') continue;
    for (const line of marker.lines)
      reservedQuantity.set(line.sku, (reservedQuantity.get(line.sku) ?? 0) + line.quantity);
  }
  let firstPlacedAt = Number.POSITIVE_INFINITY;
  let lastFinalAt = Number.NEGATIVE_INFINITY;

  for (const order of input.orders) {
    firstPlacedAt = Math.min(firstPlacedAt, order.placedAt);
    const row = input.statuses.get(order.orderId);
    if (!row || !isFinalStatus(row.status)) {
      unfinished.push(order.orderId);
      continue;
    }
    const status = row.status;
    byStatus[status] += 1;
    if (order.expected && (order.expected.status !== status || (order.expected.reason ?? row.reason) !== row.reason)) {
      unexpected.push({
        orderId: order.orderId,
        expected: [order.expected.status, order.expected.reason].filter(Boolean).join(' '),
        actual: [status, row.reason].filter(Boolean).join(' '),
      });
    }
    const decidedTime = decidedAt(row);
    if (decidedTime !== undefined) decided.push(decidedTime - order.placedAt);
    const observedAt = input.observedFinalAt?.get(order.orderId);
    if (observedAt !== undefined) observed.push(observedAt - order.placedAt);
    const finalAt = observedAt ?? decidedTime;
    if (finalAt !== undefined) lastFinalAt = Math.max(lastFinalAt, finalAt);

    // Stock: a confirmed order holds its lines, any other order holds nothing.
    const marker = input.reservations.get(order.orderId);
    if (status === 'CONFIRMED') {
      for (const line of order.items)
        confirmedQuantity.set(line.sku, (confirmedQuantity.get(line.sku) ?? 0) + line.quantity);
      reservations.record(
        order.orderId,
        marker?.status === 'RESERVED' && sameLines(marker.lines, order.items) ? 'ok' : 'lost',
      );
    } else {
      reservations.record(order.orderId, marker?.status === 'RESERVED' ? 'doubled' : 'ok');
    }

    // Charges: net one charge for a confirmed order, of its total; none left on any other order.
    const payment = input.payments.get(order.orderId);
    if (status === 'CONFIRMED') {
      const amount = order.expectedTotalCents ?? row.totalCents;
      const charged = payment?.status === 'CHARGED' && (amount === undefined || payment.amountCents === amount);
      charges.record(order.orderId, charged ? 'ok' : 'lost');
    } else {
      charges.record(order.orderId, payment?.status === 'CHARGED' ? 'doubled' : 'ok');
    }

    // Emails: exactly one per final transition, of the status's template.
    const sent = emailsByOrder.get(order.orderId) ?? [];
    const template = emailTemplateFor(status);
    const right = sent.filter((e) => e.template === template).length;
    if (sent.length === 1 && right === 1) emails.record(order.orderId, 'ok');
    else if (right === 0) emails.record(order.orderId, 'lost');
    else emails.record(order.orderId, 'doubled', sent.length - 1);
  }

  const skus = new Tally();
  const perSku: SkuStock[] = [];
  if (input.stock) {
    const all = new Set([...confirmedQuantity.keys(), ...input.orders.flatMap((o) => o.items.map((l) => l.sku))]);
    for (const sku of [...all].sort()) {
      const before = input.stock.before.get(sku);
      const after = input.stock.after.get(sku);
      if (before === undefined || after === undefined) continue;
      const entry = {
        sku,
        decrement: before - after,
        confirmedQuantity: confirmedQuantity.get(sku) ?? 0,
        reservedQuantity: reservedQuantity.get(sku) ?? 0,
      };
      perSku.push(entry);
      const diff = entry.decrement - entry.reservedQuantity;
      skus.record(sku, diff === 0 ? 'ok' : diff > 0 ? 'doubled' : 'lost', Math.abs(diff));
    }
  }

  const final = byStatus.CONFIRMED + byStatus.CANCELLED + byStatus.REJECTED;
  const seconds = (lastFinalAt - firstPlacedAt) / 1000;
  const stock = { perSku, skus: skus.result(), reservations: reservations.result() };
  const report = {
    orders: input.orders.length,
    final,
    byStatus,
    unfinished,
    unexpected,
    decidedLatency: summarizeLatencies(decided),
    ...(input.observedFinalAt ? { observedLatency: summarizeLatencies(observed) } : {}),
    window: { firstPlacedAt, lastFinalAt },
    throughputPerSecond: final > 0 && seconds > 0 ? final / seconds : 0,
    stock,
    charges: charges.result(),
    emails: emails.result(),
  };
  const violations = [stock.skus, stock.reservations, report.charges, report.emails].reduce(
    (sum, c) => sum + c.lost + c.doubled,
    0,
  );
  return { ...report, violations };
}

// ---------------------------------------------------------------------------------------------------------------
// Readers: what the local stack holds for a set of orders.

/** How many BatchGetItem calls run at once. */
const READ_CONCURRENCY = 4;

/**
 * Reads items by key, 100 per BatchGetItem (the API's limit), a few calls at a time, retrying unprocessed keys.
 */
export async function batchGet(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, string>[],
  projection?: { readonly expression: string; readonly names: Readonly<Record<string, string>> },
): Promise<Record<string, unknown>[]> {
  const chunks: Record<string, string>[][] = [];
  for (let i = 0; i < keys.length; i += 100) chunks.push(keys.slice(i, i + 100));
  const items: Record<string, unknown>[] = [];
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      let pending: Record<string, unknown>[] = chunks[next++] ?? [];
      for (let attempt = 0; pending.length > 0; attempt += 1) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** attempt)));
        const response = await doc.send(
          new BatchGetCommand({
            RequestItems: {
              [tableName]: {
                Keys: pending,
                ConsistentRead: true,
                ...(projection
                  ? { ProjectionExpression: projection.expression, ExpressionAttributeNames: { ...projection.names } }
                  : {}),
              },
            },
          }),
        );
        items.push(...(response.Responses?.[tableName] ?? []));
        pending = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
        if (attempt > 20 && pending.length > 0) throw new Error(`BatchGetItem on ${tableName} keeps leaving keys`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, chunks.length) }, worker));
  return items;
}

/** The ORDER_STATUS rows of `orderIds` (those that exist). */
export async function readStatuses(
  doc: DynamoDBDocumentClient,
  orderIds: readonly string[],
): Promise<Map<string, StatusRow>> {
  const items = await batchGet(
    doc,
    localTableName(TABLES.ORDER_STATUS),
    orderIds.map((orderId) => ({ orderId })),
    {
      expression: 'orderId, #status, reason, totalCents, history, facts',
      names: { '#status': 'status' },
    },
  );
  return new Map(items.map((item) => [String(item.orderId), item as unknown as StatusRow]));
}

/** The reservation markers of `orderIds` (those that exist), keyed by orderId. */
export async function readReservations(
  doc: DynamoDBDocumentClient,
  orderIds: readonly string[],
): Promise<Map<string, ReservationRow>> {
  const items = await batchGet(
    doc,
    localTableName(TABLES.INVENTORY),
    orderIds.map((orderId) => ({ pk: `RESERVATION#${orderId}` })),
  );
  return new Map(items.map((item) => [String(item.orderId), item as unknown as ReservationRow]));
}

/** The payment records of `orderIds` (those that exist), keyed by orderId. */
export async function readPayments(
  doc: DynamoDBDocumentClient,
  orderIds: readonly string[],
): Promise<Map<string, PaymentRow>> {
  const items = await batchGet(
    doc,
    localTableName(TABLES.PAYMENTS),
    orderIds.map((orderId) => ({ pk: `PAYMENT#${orderId}` })),
  );
  return new Map(items.map((item) => [String(item.orderId), item as unknown as PaymentRow]));
}

/** `available` of each SKU that has a stock row. */
export async function readStock(doc: DynamoDBDocumentClient, skus: readonly string[]): Promise<Map<string, number>> {
  const items = await batchGet(
    doc,
    localTableName(TABLES.INVENTORY),
    skus.map((sku) => ({ pk: `SKU#${sku}` })),
  );
  return new Map(items.map((item) => [String(item.sku ?? String(item.pk).slice(4)), Number(item.available)]));
}

/**
 * The orders whose recipient address starts with `prefix`, by address (a full Scan of ORDER_STATUS, filtered: for
 * the end of a run). Finds the orders placed by requests that were answered with an error, when each request
 * used an address of its own.
 */
export async function ordersByEmailPrefix(doc: DynamoDBDocumentClient, prefix: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: localTableName(TABLES.ORDER_STATUS),
        FilterExpression: 'begins_with(email, :prefix)',
        ProjectionExpression: 'orderId, email',
        ExpressionAttributeValues: { ':prefix': prefix },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) found.set(String(item.email), String(item.orderId));
    start = page.LastEvaluatedKey;
  } while (start);
  return found;
}

/** A running poller of order-status rows. */
export interface FinalStatusTracker {
  /** Starts tracking `orderIds`. */
  add(orderIds: readonly string[]): void;
  /** Epoch ms each tracked order was first seen in a final status. */
  readonly observedAt: ReadonlyMap<string, number>;
  /** Tracked orders not seen final yet. */
  pending(): number;
  /** Resolves once every tracked order was seen final, or after `timeoutMs` (then some are still pending). */
  settle(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** How `trackFinalStatuses` polls. */
export interface TrackerOptions {
  /** Pause between two poll rounds. @default 500 */
  readonly intervalMs?: number;
  /** Oldest pending orders read every round (they are the likeliest to be final next). @default 200 */
  readonly oldest?: number;
  /** Further pending orders read every round, in turn, so out-of-order finishes are seen too. @default 200 */
  readonly sweep?: number;
}

/**
 * Polls the ORDER_STATUS rows of tracked orders that are not final yet (status only, BatchGetItem) and records
 * when each was first seen final: when `GET /orders/{id}` would first have answered it, within one round. Each
 * round reads the `oldest` pending orders plus the next `sweep` of the others in turn, so the load it adds to the
 * emulator stays bounded (≤ 4 calls per round by default) however many orders are in flight; an order that
 * finishes before older ones is seen within pending / sweep rounds.
 *
 * @example
 * const tracker = trackFinalStatuses(doc);
 * tracker.add([orderId]);
 * await tracker.settle(60_000);
 */
export function trackFinalStatuses(doc: DynamoDBDocumentClient, options: TrackerOptions = {}): FinalStatusTracker {
  const intervalMs = options.intervalMs ?? 500;
  const oldest = options.oldest ?? 200;
  const sweep = options.sweep ?? 200;
  // Insertion order is placement order: the first entries are the oldest pending orders.
  const pending = new Set<string>();
  const observedAt = new Map<string, number>();
  let cursor = 0;
  let running = true;
  let lastError: Error | undefined;
  const loop = (async () => {
    while (running) {
      const all = [...pending];
      const head = all.slice(0, oldest);
      const rest = all.slice(oldest);
      if (cursor >= rest.length) cursor = 0;
      const turn = rest.slice(cursor, cursor + sweep);
      cursor += sweep;
      const ids = [...head, ...turn];
      if (ids.length > 0) {
        try {
          const items = await batchGet(
            doc,
            localTableName(TABLES.ORDER_STATUS),
            ids.map((orderId) => ({ orderId })),
            { expression: 'orderId, #status', names: { '#status': 'status' } },
          );
          const now = Date.now();
          for (const item of items) {
            const orderId = String(item.orderId);
            if (isFinalStatus(item.status as string) && pending.delete(orderId)) observedAt.set(orderId, now);
          }
          lastError = undefined;
        } catch (error) {
          // A busy or restarting emulator: try again next round; `settle` reports it if it persists.
          lastError = error as Error;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    add(orderIds) {
      for (const id of orderIds) if (!observedAt.has(id)) pending.add(id);
    },
    observedAt,
    pending: () => pending.size,
    async settle(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (pending.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      if (pending.size > 0 && lastError) {
        process.stderr.write(`final-status tracker: last poll failed: ${lastError.message}\n`);
      }
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** A running collector of sent emails. */
export interface EmailCollector {
  /** Fetches the emulator's list now and adds what is new. */
  refresh(): Promise<void>;
  /** Every email collected so far (with an orderId), one per message id. */
  emails(): AuditEmail[];
  /** How many collected emails are about `orderIds`. */
  countFor(orderIds: ReadonlySet<string>): number;
  stop(): Promise<void>;
}

/**
 * Fetches MiniStack's sent emails every `intervalMs` and keeps them by message id, so a run sending more emails
 * than the emulator keeps (`ORDERFLOW_EMULATOR_LOG_CAP`, oldest dropped) still sees every one. Poll at least
 * once per cap's worth of emails (10,000 at 400 orders/s is 25 s). An `intervalMs` of 0 fetches only on `refresh()`.
 *
 * @example
 * const collector = collectEmails(config.awsEndpointUrl);
 * // ... run ...
 * await collector.refresh();
 * const emails = collector.emails();
 */
export function collectEmails(endpoint: string, intervalMs = 5_000): EmailCollector {
  const byId = new Map<string, AuditEmail>();
  let running = true;
  let chain: Promise<void> = Promise.resolve();
  const fetchNew = async () => {
    for (const email of await sentEmails(endpoint)) {
      if (email.orderId !== undefined && !byId.has(email.messageId)) {
        byId.set(email.messageId, { messageId: email.messageId, orderId: email.orderId, template: email.template });
      }
    }
  };
  // One fetch at a time; a failed one does not stop the next.
  const refresh = () => {
    const run = chain.then(fetchNew);
    chain = run.catch(() => undefined);
    return run;
  };
  const poll = () => {
    if (!running) return;
    refresh().catch((error: Error) => {
      process.stderr.write(`email collector: ${error.message}\n`);
    });
  };
  const timer = intervalMs > 0 ? setInterval(poll, intervalMs) : undefined;
  return {
    refresh,
    emails: () => [...byId.values()],
    countFor: (orderIds) => [...byId.values()].filter((e) => e.orderId !== undefined && orderIds.has(e.orderId)).length,
    async stop() {
      running = false;
      clearInterval(timer);
      await chain;
    },
  };
}

/** What `readAndAudit` reads besides the tables: the orders, the stock before, the emails seen. */
export interface ReadAndAuditInput {
  readonly orders: readonly PlacedOrder[];
  /** SKUs whose stock to compare. */
  readonly skus: readonly string[];
  readonly stockBefore: ReadonlyMap<string, number>;
  readonly emails: readonly AuditEmail[];
  readonly observedFinalAt?: ReadonlyMap<string, number>;
}

/**
 * Reads the state of `orders` in the tables (status, reservations, payments, and the stock of `skus`) in
 * parallel and audits it; the payments and stock read are returned with the report.
 */
export async function readAndAudit(
  doc: DynamoDBDocumentClient,
  input: ReadAndAuditInput,
): Promise<{ report: AuditReport; payments: Map<string, PaymentRow>; stockAfter: Map<string, number> }> {
  const ids = input.orders.map((o) => o.orderId);
  const [statuses, reservations, payments, stockAfter] = await Promise.all([
    readStatuses(doc, ids),
    readReservations(doc, ids),
    readPayments(doc, ids),
    readStock(doc, input.skus),
  ]);
  const report = auditOrders({
    orders: input.orders,
    statuses,
    reservations,
    payments,
    emails: input.emails,
    stock: { before: input.stockBefore, after: stockAfter },
    ...(input.observedFinalAt ? { observedFinalAt: input.observedFinalAt } : {}),
  });
  return { report, payments, stockAfter };
}
