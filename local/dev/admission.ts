/**
 * Local admission control for `POST /orders`: the local pipeline shares two cores among every stage, so a flood of
 * new orders would slow the ones already in flight (each stage gets an equal share, and new work keeps arriving).
 * Once `maxBacklog` orders accepted by this process are not final yet, new ones are refused with 503 and a
 * `Retry-After` (seconds) until the backlog is below the bound again: the orders in flight finish first. On AWS
 * nothing sheds: every function scales on its own, and API Gateway's throttling is the account's.
 */

import type { EventBridgeEvent } from 'aws-lambda';
import { FINAL_BUS_DETAIL_TYPES, STATUS_CHANGED_DETAIL_TYPE } from '../../shared/topology.js';
import type { HttpApiHandler } from './http.js';

/** Options of `startAdmission`. */
export interface AdmissionOptions {
  /** Most orders accepted and not final; 0 turns shedding off. */
  readonly maxBacklog: number;
  /**
   * An accepted order not seen final after this long no longer counts (a lost final event would otherwise hold a
   * place forever). @default - 15 minutes, past the pipeline's retry budget
   */
  readonly forgetAfterMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The admission gate of one pipeline, and what it counted. */
export interface Admission {
  /** Whether a new order may enter now; counts one shed order when not. */
  admit(): boolean;
  /** Records that `orderId` was accepted (a repeated id counts once). */
  accepted(orderId: string): void;
  /** Records that `orderId` reached a final status (unknown ids are ignored). */
  finished(orderId: string): void;
  /**
   * Seconds a refused client should wait: the time to finish the excess at the rate of the last 10 s, 1 to 30
   * (5 when nothing finished lately).
   */
  retryAfterSeconds(): number;
  /** Counters for the dashboard and the benchmark. */
  stats(): AdmissionStats;
}

/** What the gate counted since it started. */
export interface AdmissionStats {
  /** Orders accepted and not final now. */
  readonly backlog: number;
  readonly maxBacklog: number;
  readonly accepted: number;
  readonly finished: number;
  /** Orders refused with 503 because the backlog was at the bound. */
  readonly shed: number;
  /** Orders finished per second over the last 10 s. */
  readonly finishedPerSecond: number;
}

/** The default bound when `ORDERFLOW_MAX_BACKLOG` is unset; see docs/differences-from-lambda.md. */
export const DEFAULT_MAX_BACKLOG = 150;

const RATE_WINDOW_MS = 10_000;

/**
 * The backlog bound `npm run dev` sheds at: `ORDERFLOW_MAX_BACKLOG` (orders; 0 turns shedding off), else
 * `DEFAULT_MAX_BACKLOG`.
 */
export function maxBacklogFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ORDERFLOW_MAX_BACKLOG;
  if (raw === undefined || raw === '') return DEFAULT_MAX_BACKLOG;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 1_000_000) {
    throw new Error(`ORDERFLOW_MAX_BACKLOG must be an integer from 0 (no shedding) to 1000000, got '${raw}'`);
  }
  return value;
}

/**
 * Starts counting orders in flight.
 *
 * @example
 * const admission = startAdmission({ maxBacklog: 150 });
 * if (!admission.admit()) return { statusCode: 503, headers: { 'retry-after': String(admission.retryAfterSeconds()) } };
 */
export function startAdmission(options: AdmissionOptions): Admission {
  const now = options.now ?? Date.now;
  const forgetAfterMs = options.forgetAfterMs ?? 15 * 60_000;
  if (!Number.isInteger(options.maxBacklog) || options.maxBacklog < 0) {
    throw new RangeError(`maxBacklog must be a non-negative integer, got ${options.maxBacklog}`);
  }
  /** Accepted and not final, oldest first (a Map keeps insertion order). */
  const inFlight = new Map<string, number>();
  /** When recent orders finished, oldest first. */
  const finishedAt: number[] = [];
  let accepted = 0;
  let finished = 0;
  let shed = 0;

  const forgetOld = (at: number) => {
    for (const [orderId, acceptedAt] of inFlight) {
      if (at - acceptedAt < forgetAfterMs) break;
      inFlight.delete(orderId);
    }
    while (finishedAt.length > 0 && at - (finishedAt[0] as number) > RATE_WINDOW_MS) finishedAt.shift();
  };
  const finishedPerSecond = (at: number) => {
    forgetOld(at);
    return finishedAt.length / (RATE_WINDOW_MS / 1000);
  };

  return {
    admit() {
      if (options.maxBacklog === 0) return true;
      forgetOld(now());
      if (inFlight.size < options.maxBacklog) return true;
      shed += 1;
      return false;
    },
    accepted(orderId) {
      if (inFlight.has(orderId)) return;
      inFlight.set(orderId, now());
      accepted += 1;
    },
    finished(orderId) {
      if (!inFlight.delete(orderId)) return;
      finished += 1;
      finishedAt.push(now());
    },
    retryAfterSeconds() {
      const rate = finishedPerSecond(now());
      const excess = inFlight.size - options.maxBacklog + 1;
      // Nothing finished lately (the pipeline is starting, or stalled): a short wait, then ask again.
      if (rate <= 0) return 5;
      return Math.min(30, Math.max(1, Math.ceil(excess / rate)));
    },
    stats() {
      const at = now();
      forgetOld(at);
      return {
        backlog: inFlight.size,
        maxBacklog: options.maxBacklog,
        accepted,
        finished,
        shed,
        finishedPerSecond: finishedPerSecond(at),
      };
    },
  };
}

/** The answer to a `POST /orders` refused while the pipeline's backlog is at its bound. */
export const SHED_ANSWER = {
  statusCode: 503,
  body: {
    message: 'The local pipeline is at its backlog bound (ORDERFLOW_MAX_BACKLOG); retry after Retry-After seconds',
  },
} as const;

/**
 * `handler` behind the admission gate: a `POST /orders` while the backlog is at its bound is answered 503 with
 * `Retry-After` without running the function; an accepted order (202) joins the backlog. Reads are never shed.
 */
export function admitted(handler: HttpApiHandler, admission: Admission): HttpApiHandler {
  return async (event, context) => {
    const placing = event.routeKey === 'POST /orders';
    if (placing && !admission.admit()) {
      return {
        statusCode: SHED_ANSWER.statusCode,
        headers: { 'content-type': 'application/json', 'retry-after': String(admission.retryAfterSeconds()) },
        body: JSON.stringify(SHED_ANSWER.body),
      };
    }
    const result = await handler(event, context);
    if (placing && result.statusCode === 202 && typeof result.body === 'string') {
      const { orderId } = JSON.parse(result.body) as { orderId?: unknown };
      if (typeof orderId === 'string') admission.accepted(orderId);
    }
    return result;
  };
}

/** The order a bus event announces as final (a final detail type, or a status change into a final status). */
export function finalOrderIdOf(event: EventBridgeEvent<string, unknown>): string | undefined {
  const detail = event.detail as { orderId?: unknown; status?: unknown } | undefined;
  if (typeof detail?.orderId !== 'string') return undefined;
  const final =
    (FINAL_BUS_DETAIL_TYPES as readonly string[]).includes(event['detail-type']) ||
    (event['detail-type'] === STATUS_CHANGED_DETAIL_TYPE &&
      typeof detail.status === 'string' &&
      FINAL_STATUSES.has(detail.status));
  return final ? detail.orderId : undefined;
}

const FINAL_STATUSES = new Set(['CONFIRMED', 'CANCELLED', 'REJECTED']);
