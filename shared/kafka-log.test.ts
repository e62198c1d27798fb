import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { type LogEntry, logLevel } from 'kafkajs';
import { kafkaErrorLog } from './kafka.js';

/** A kafkajs log entry of `level` from the Connection namespace. */
function entry(level: logLevel, message: string, error?: string): LogEntry {
  return {
    namespace: 'Connection',
    level,
    label: logLevel[level],
    log: { timestamp: '2026-12-01T18:16:28.482Z', logger: 'kafkajs', message, ...(error ? { error } : {}) },
  };
}

describe('kafkaErrorLog', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('drops the coordinator errors kafkajs retries by itself and passes the other errors on', () => {
    // Prepare
    const lines: string[] = [];
    const write = kafkaErrorLog((line) => lines.push(line))(logLevel.ERROR);

    // Act
    write(
      entry(
        logLevel.ERROR,
        'Response InitProducerId(key: 22, version: 1)',
        "The coordinator is loading and hence can't process requests for this group",
      ),
    );
    write(entry(logLevel.ERROR, 'Response GroupCoordinator', 'The coordinator is not available'));
    write(
      entry(
        logLevel.ERROR,
        'Response AddPartitionsToTxn(key: 24, version: 1)',
        'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
      ),
    );
    write(entry(logLevel.WARN, 'Idempotent producer with bounded retries'));
    write(entry(logLevel.ERROR, 'Connection error', 'connect ECONNREFUSED 127.0.0.1:9092'));

    // Assess
    expect(lines).toEqual(['kafkajs: [Connection] Connection error: connect ECONNREFUSED 127.0.0.1:9092']);
  });

  it('writes an error as kafkajs does, one JSON line on stderr, when no log is given', () => {
    // Prepare
    const error = jest.spyOn(console, 'error').mockImplementation(() => {});
    const write = kafkaErrorLog()(logLevel.ERROR);

    // Act
    write(entry(logLevel.ERROR, 'Connection error', 'connect ECONNREFUSED 127.0.0.1:9092'));

    // Assess
    expect(error).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(error.mock.calls[0]?.[0]))).toEqual({
      level: 'ERROR',
      timestamp: '2026-12-01T18:16:28.482Z',
      logger: 'kafkajs',
      message: '[Connection] Connection error',
      error: 'connect ECONNREFUSED 127.0.0.1:9092',
    });
  });
});
