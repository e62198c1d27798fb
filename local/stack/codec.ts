/**
 * The codec of the local tools and tests: it reads both framings (Confluent from the local registry, Glue from the
 * Glue emulator, reached through `AWS_ENDPOINT_URL_GLUE`, which `applyStackEnv` sets) and writes the one
 * `ORDERFLOW_SCHEMA_REGISTRY` selects, as the functions of `npm run dev` do.
 */
import type { EventCodec } from '../../shared/codec.js';
import { codecFromConfig } from '../../shared/runtime.js';
import { LOCAL_GLUE_REGISTRY_NAME, type LocalRegistryMode, type StackConfig } from './config.js';

/**
 * A codec over the local stack's two registries.
 *
 * @example
 * const codec = localCodec(applyStackEnv());
 * const event = await codec.decode(message.value, { topic, partition, offset });
 */
export function localCodec(config: StackConfig, encodeWith: LocalRegistryMode = config.schemaRegistryMode): EventCodec {
  return codecFromConfig({
    SCHEMA_REGISTRY: encodeWith,
    SCHEMA_REGISTRY_URL: config.schemaRegistryUrl,
    GLUE_REGISTRY_NAME: LOCAL_GLUE_REGISTRY_NAME,
    AWS_REGION: config.awsRegion,
  });
}
