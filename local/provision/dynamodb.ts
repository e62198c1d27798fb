/** The DynamoDB tables of shared/tables.ts, locally (the emulator behind AWS_ENDPOINT_URL_DYNAMODB). */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { localTableName, TABLES, type TableSpec } from '../../shared/tables.js';
import type { ProvisionChange } from './change.js';

/** One on-demand table per spec, keyed by its partition key, with TTL where the spec has one. */
export async function provisionTables(dynamodb: DynamoDBClient): Promise<ProvisionChange[]> {
  const specs: TableSpec[] = Object.values(TABLES);
  return Promise.all(
    specs.map(async (spec): Promise<ProvisionChange> => {
      const name = localTableName(spec);
      const fixes: string[] = [];
      let created = false;
      try {
        await dynamodb.send(new DescribeTableCommand({ TableName: name }));
      } catch (error) {
        if ((error as Error).name !== 'ResourceNotFoundException') throw error;
        await dynamodb.send(
          new CreateTableCommand({
            TableName: name,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [{ AttributeName: spec.partitionKey, AttributeType: 'S' }],
            KeySchema: [{ AttributeName: spec.partitionKey, KeyType: 'HASH' }],
          }),
        );
        created = true;
        fixes.push(`key ${spec.partitionKey}`);
      }
      if (spec.ttlAttribute) {
        const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: name }));
        const description = ttl.TimeToLiveDescription;
        if (description?.TimeToLiveStatus !== 'ENABLED' || description.AttributeName !== spec.ttlAttribute) {
          await dynamodb.send(
            new UpdateTimeToLiveCommand({
              TableName: name,
              TimeToLiveSpecification: { Enabled: true, AttributeName: spec.ttlAttribute },
            }),
          );
          fixes.push(`TTL on ${spec.ttlAttribute}`);
        }
      }
      return {
        resource: `table ${name}`,
        action: created ? 'created' : fixes.length > 0 ? 'updated' : 'unchanged',
        detail: fixes.join(', ') || undefined,
      };
    }),
  );
}
