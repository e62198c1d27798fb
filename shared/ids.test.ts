import { describe, expect, it } from '@jest/globals';
import { derivedId } from './ids.js';

describe('derivedId', () => {
  it('derives the id every released version derived from the same parts', () => {
    // Act
    const id = derivedId('validate-order', 'e-1', 'OrderValidated');

    // Assess: the value `createHash('sha256')` gave before the one-shot `hash`; consumers dedupe on it.
    expect(id).toBe('7d2ec4ef-cb01-8b75-9d34-61a35ec0570d');
  });

  it('formats the digest as a version 8 UUID with the RFC 9562 variant', () => {
    const id = derivedId('reserve-inventory', 'e-2', 'InventoryReserved');

    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
