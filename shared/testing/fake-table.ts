/**
 * An in-memory DynamoDB table for unit tests, served through an aws-sdk-client-mock of `DynamoDBDocumentClient`.
 * It honours the expressions our adapters write: `attribute_not_exists(a)`, `size(a) < :v`, `contains(a, :v)`,
 * `a = :v` and `a >= :v` conditions (alone or joined by `OR`), `ADD a :v, …` (numbers and sets),
 * `DELETE a :v, …` (sets) and `SET a = :v, b = b - :v, …` updates, conditional transactions.
 */
import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  DeleteCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  type PutCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';

/** A stored item. */
export type Item = Record<string, unknown>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;

/** The error DynamoDB answers a write whose condition does not hold with. */
export function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

/** The error DynamoDB answers a request over the table's throughput with (the SDK retries it, then gives up). */
export function throttled(message = 'slow down'): ProvisionedThroughputExceededException {
  return new ProvisionedThroughputExceededException({ message, $metadata: {} });
}

/** A cancelled transaction with one reason code per item, in order (`'None'` for the items that were fine). */
export function transactionCancelled(...codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

const nameOf = (token: string, names: Names) => (token.startsWith('#') ? (names?.[token] ?? token) : token);

/**
 * The items of one table by their key attribute; a `Map`, so tests seed and read it directly. Its arrow-function
 * members are the fakes to hand to the mock.
 *
 * @example
 * const ddb = mockClient(DynamoDBDocumentClient);
 * const table = new FakeTable();
 * ddb.on(GetCommand).callsFake(table.getItem);
 * ddb.on(PutCommand).rejectsOnce(conditionFailed()).callsFake(table.putItem);
 */
export class FakeTable<T extends object = Item> extends Map<string, T> {
  /** @param keyAttribute - the partition key's attribute name. @default 'pk' */
  constructor(
    readonly keyAttribute = 'pk',
    items: Iterable<T> = [],
  ) {
    super();
    for (const item of items) this.set(String((item as Item)[keyAttribute]), item);
  }

  /**
   * Serves every command this table fakes (Get, BatchGet, Put, Update, Delete, TransactWrite) on a mocked document
   * client; with `tableName`, the single-item commands only when they name it (BatchGet and TransactWrite name
   * their tables per item and are served whatever they name). A test overrides one command with `ddb.on` after.
   *
   * @example
   * const ddb = mockClient(DynamoDBDocumentClient);
   * beforeEach(() => { ddb.reset(); table = new FakeTable(); table.serve(ddb); });
   */
  serve(ddb: AwsClientStub<DynamoDBDocumentClient>, tableName?: string): this {
    const only = tableName === undefined ? undefined : { TableName: tableName };
    ddb.on(GetCommand, only).callsFake(this.getItem);
    ddb.on(PutCommand, only).callsFake(this.putItem);
    ddb.on(UpdateCommand, only).callsFake(this.updateItem);
    ddb.on(DeleteCommand, only).callsFake(this.deleteItem);
    ddb.on(BatchGetCommand).callsFake(this.batchGetItem);
    ddb.on(TransactWriteCommand).callsFake(this.transactWrite);
    return this;
  }

  /** Whether `condition` holds for `item`. */
  holds(condition: string | undefined, item: Item | undefined, names: Names, values: Values): boolean {
    if (condition === undefined) return true;
    return condition.split(' OR ').some((term) => this.termHolds(term.trim(), item, names, values));
  }

  private termHolds(term: string, item: Item | undefined, names: Names, values: Values): boolean {
    const call = /^(attribute_not_exists|size|contains)\(([^,)]+)(?:, (:\w+))?\)(?: < (:\w+))?$/.exec(term);
    if (call) {
      const [, fn, attribute = '', argument = '', bound = ''] = call;
      const actual = item?.[nameOf(attribute, names)];
      if (fn === 'attribute_not_exists') return actual === undefined;
      if (fn === 'contains') return actual instanceof Set && actual.has(values?.[argument]);
      const size = actual instanceof Set ? actual.size : Array.isArray(actual) ? actual.length : 0;
      return size < Number(values?.[bound]);
    }
    const [left = '', op, right = ''] = term.split(' ');
    const actual = item?.[nameOf(left, names)];
    const expected = values?.[right];
    if (op === '=') return actual === expected;
    if (op === '>=') return typeof actual === 'number' && actual >= Number(expected);
    throw new Error(`unexpected condition ${term}`);
  }

  /** Fake of `GetCommand`: a copy of the item under the key. */
  readonly getItem = (input: GetCommandInput) => {
    const item = this.get(String(input.Key?.[this.keyAttribute]));
    return { Item: item === undefined ? undefined : structuredClone(item) };
  };

  /** Fake of `BatchGetCommand` on one table: the items found, nothing left unprocessed. */
  readonly batchGetItem = (input: BatchGetCommandInput) => {
    const [tableName = ''] = Object.keys(input.RequestItems ?? {});
    const items = (input.RequestItems?.[tableName]?.Keys ?? []).flatMap((key) => {
      const item = this.get(String(key[this.keyAttribute]));
      return item === undefined ? [] : [structuredClone(item)];
    });
    return { Responses: { [tableName]: items }, UnprocessedKeys: {} };
  };

  /** Fake of `PutCommand`, honouring its condition. */
  readonly putItem = (input: PutCommandInput) => {
    const item = input.Item as Item;
    const key = String(item[this.keyAttribute]);
    const stored = this.get(key) as Item | undefined;
    if (
      !this.holds(input.ConditionExpression, stored, input.ExpressionAttributeNames, input.ExpressionAttributeValues)
    ) {
      throw conditionFailed();
    }
    this.set(key, structuredClone(item) as T);
    return {};
  };

  /** Fake of `DeleteCommand`, honouring its condition. */
  readonly deleteItem = (input: DeleteCommandInput) => {
    const key = String(input.Key?.[this.keyAttribute]);
    const stored = this.get(key) as Item | undefined;
    if (
      !this.holds(input.ConditionExpression, stored, input.ExpressionAttributeNames, input.ExpressionAttributeValues)
    ) {
      throw conditionFailed();
    }
    this.delete(key);
    return {};
  };

  /** Fake of `UpdateCommand`, honouring its condition; `UPDATED_NEW` returns the attributes it set. */
  readonly updateItem = (input: UpdateCommandInput) => {
    const key = String(input.Key?.[this.keyAttribute]);
    const { ExpressionAttributeNames: names, ExpressionAttributeValues: values } = input;
    const current = this.get(key) as Item | undefined;
    if (!this.holds(input.ConditionExpression, current, names, values)) throw conditionFailed();
    const { next, updated } = this.applyUpdate(
      input.UpdateExpression ?? '',
      current ?? { [this.keyAttribute]: key },
      names,
      values,
    );
    this.set(key, next as T);
    return input.ReturnValues === 'UPDATED_NEW' ? { Attributes: updated } : {};
  };

  /** Fake of `TransactWriteCommand` (Put and Update items). All or nothing: a failed condition cancels the transaction with `ConditionalCheckFailed` at its position. */
  readonly transactWrite = (input: TransactWriteCommandInput) => {
    const writes = (input.TransactItems ?? []).map((entry) => {
      if (entry.Put) {
        const put = entry.Put;
        const key = String(put.Item?.[this.keyAttribute]);
        const ok = this.holds(
          put.ConditionExpression,
          this.get(key) as Item | undefined,
          put.ExpressionAttributeNames,
          put.ExpressionAttributeValues,
        );
        return { ok, key, next: () => structuredClone(put.Item as Item) };
      }
      const update = entry.Update;
      if (!update) throw new Error('unexpected transact item');
      const key = String(update.Key?.[this.keyAttribute]);
      const current = this.get(key) as Item | undefined;
      const { ExpressionAttributeNames: names, ExpressionAttributeValues: values } = update;
      const ok = this.holds(update.ConditionExpression, current, names, values);
      const base = current ?? { [this.keyAttribute]: key };
      return { ok, key, next: () => this.applyUpdate(update.UpdateExpression ?? '', base, names, values).next };
    });
    if (writes.some((w) => !w.ok))
      throw transactionCancelled(...writes.map((w) => (w.ok ? 'None' : 'ConditionalCheckFailed')));
    for (const w of writes) this.set(w.key, w.next() as T);
    return {};
  };

  private applyUpdate(expression: string, item: Item, names: Names, values: Values): { next: Item; updated: Item } {
    const next = { ...item };
    const updated: Item = {};
    const read = (token: string) => (token.startsWith(':') ? values?.[token] : next[nameOf(token, names)]);
    for (const [, clause = '', body = ''] of expression.matchAll(/(ADD|SET|DELETE) (.*?)(?= (?:ADD|SET|DELETE) |$)/g)) {
      for (const action of body.split(', ')) {
        if (clause === 'ADD' || clause === 'DELETE') {
          const [attribute = '', value = ''] = action.split(' ');
          const target = nameOf(attribute, names);
          const operand = values?.[value];
          if (operand instanceof Set) {
            // DynamoDB removes a set attribute that a DELETE leaves empty.
            const result = new Set(next[target] instanceof Set ? (next[target] as Set<unknown>) : []);
            for (const member of operand) {
              if (clause === 'ADD') result.add(member);
              else result.delete(member);
            }
            if (result.size === 0) delete next[target];
            else next[target] = result;
          } else {
            next[target] = Number(next[target] ?? 0) + Number(operand);
          }
          updated[target] = next[target];
          continue;
        }
        const [attribute = '', operand = ''] = action.split(' = ');
        const [first = '', op, second = ''] = operand.split(' ');
        const target = nameOf(attribute, names);
        next[target] = op === '-' ? Number(read(first)) - Number(read(second)) : read(first);
        updated[target] = next[target];
      }
    }
    return { next, updated };
  }
}
