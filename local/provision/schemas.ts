/**
 * Each event topic's value schema in the schema registry, with BACKWARD compatibility; also what
 * `npm run schemas:register` runs against a deployed stack's registry.
 */
import { topicReaderSchema } from '../../shared/codec.js';
import { eventTopics } from '../../shared/schema-registry.js';
import { valueSubject } from '../../shared/topology.js';
import type { ProvisionChange } from './change.js';
import { lookupSchema, registerSchema, setSubjectCompatibility, subjectCompatibility } from './registry.js';

/** Each event topic's value schema under `<topic>-value`, then BACKWARD compatibility on the subject. */
export async function provisionSchemas(registryUrl: string): Promise<ProvisionChange[]> {
  const changes: ProvisionChange[] = [];
  // In topology order, so a fresh registry hands out ids in the order events/registry.json records them.
  for (const topic of eventTopics()) {
    const subject = valueSubject(topic);
    const schema = JSON.stringify(topicReaderSchema(topic));
    const known = await lookupSchema(registryUrl, subject, schema);
    const id = known ?? (await registerSchema(registryUrl, subject, schema));
    const fixes: string[] = known === undefined ? [`id ${id}`] : [];
    if ((await subjectCompatibility(registryUrl, subject)) !== 'BACKWARD') {
      await setSubjectCompatibility(registryUrl, subject, 'BACKWARD');
      fixes.push('compatibility BACKWARD');
    }
    changes.push({
      resource: `schema ${subject}`,
      action: known === undefined ? 'created' : fixes.length > 0 ? 'updated' : 'unchanged',
      detail: fixes.join(', ') || undefined,
    });
  }
  return changes;
}
