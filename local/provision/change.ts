/** The record every provisioning step returns, so `stack:up` can count what was created, updated or left alone. */

/** What provisioning did to one resource. */
export interface ProvisionChange {
  /** e.g. `topic orders.raw`, `schema orders.raw-value`, `table orderflow-catalog`. */
  readonly resource: string;
  readonly action: 'created' | 'updated' | 'unchanged';
  /** What was created or changed. */
  readonly detail?: string;
}

/** Progress output of a provisioning step. */
export type ProvisionLog = (message: string) => void;
