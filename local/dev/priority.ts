/**
 * CPU priority of each function's sandboxes in the local pipeline, ranked by stage depth: on AWS every function
 * has CPU of its own, here all share a laptop's cores, and with equal shares a flood of new orders slows the ones
 * already in flight. Later stages get the CPU first (lower nice values), so work on an order already in the
 * pipeline goes before admitting more; the synchronous functions (the order API, the WebSocket routes) keep nice 0
 * so a caller is still answered. On Linux each sandbox thread has a nice value of its own (see sandbox-worker.ts).
 */
import { contractOf, FUNCTIONS } from '../../shared/functions.js';
import { CONSUMERS, type FunctionName, RULES, type TopicName, topicOf } from '../../shared/topology.js';

/** Nice value of the first asynchronous stage (the functions reading what the order API produces). */
export const FIRST_STAGE_NICENESS = 13;

/** Nice values between one stage and the next: each step is about 1.25× the CPU weight, three about 2×. */
export const NICENESS_PER_STAGE = 3;

/** Lowest nice value of an asynchronous stage, however deep: the synchronous functions keep 0. */
const DEEPEST_STAGE_NICENESS = 1;

/**
 * Stage depth of every function from the topology: 0 for the functions a caller waits on (HTTP and WebSocket
 * routes); a topic is one deeper than the shallowest function producing it (its distance from the order API); a
 * Kafka consumer is as deep as the deepest topic it reads (order-status reads the payment events, so it is a last
 * stage, whatever else it reads); a rule target is one deeper than the deepest function putting events on the bus.
 */
export function stageDepths(): Readonly<Record<FunctionName, number>> {
  const names = Object.keys(FUNCTIONS) as FunctionName[];
  const depth = new Map<FunctionName, number>();
  for (const fn of names) if (isSynchronous(fn)) depth.set(fn, 0);
  const topicDepth = new Map<TopicName, number>();
  // Breadth first from the synchronous functions: a function first reached through a topic of depth d produces
  // topics of depth d + 1.
  const reachedAt = new Map<FunctionName, number>(depth);
  let frontier = [...depth.keys()];
  while (frontier.length > 0) {
    const next: FunctionName[] = [];
    for (const fn of frontier) {
      for (const topic of contractOf(fn).produces.map(topicOf)) {
        if (topicDepth.has(topic)) continue;
        const d = (reachedAt.get(fn) ?? 0) + 1;
        topicDepth.set(topic, d);
        for (const consumer of CONSUMERS.filter((c) => c.topics.includes(topic))) {
          if (reachedAt.has(consumer.function)) continue;
          reachedAt.set(consumer.function, d);
          next.push(consumer.function);
        }
      }
    }
    frontier = next;
  }
  for (const consumer of CONSUMERS) {
    const reached = consumer.topics.map((t) => topicDepth.get(t)).filter((d): d is number => d !== undefined);
    if (reached.length === 0) throw new Error(`${consumer.function} reads no topic the order API's flow reaches`);
    depth.set(consumer.function, Math.max(...reached));
  }
  const publishers = names.filter((fn) => contractOf(fn).uses.includes('bus:put-events'));
  const busDepth = Math.max(...publishers.map((fn) => depth.get(fn) ?? 0)) + 1;
  for (const rule of RULES) depth.set(rule.target, Math.max(depth.get(rule.target) ?? 0, busDepth));
  for (const fn of names) if (!depth.has(fn)) throw new Error(`${fn} is reached by no trigger of the topology`);
  return Object.fromEntries(depth) as Record<FunctionName, number>;
}

/** Nice value (0 to 19) of `fn`'s sandboxes: 0 for a synchronous function, lower the deeper its stage. */
export function sandboxNiceness(
  fn: FunctionName,
  depths: Readonly<Record<FunctionName, number>> = stageDepths(),
): number {
  if (isSynchronous(fn)) return 0;
  const depth = depths[fn];
  return Math.min(19, Math.max(DEEPEST_STAGE_NICENESS, FIRST_STAGE_NICENESS - NICENESS_PER_STAGE * (depth - 1)));
}

/** Whether a caller waits on `fn`'s invocations (HTTP and WebSocket routes). */
export function isSynchronous(fn: FunctionName): boolean {
  const { trigger } = contractOf(fn);
  return trigger === 'http' || trigger === 'websocket';
}
