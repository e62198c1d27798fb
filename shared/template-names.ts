/**
 * Names of the order emails' SES templates: their default names (`OrderEmail` suffixes a stage), and the
 * defaults of send-order-email's CONFIRMATION_TEMPLATE / CANCELLATION_TEMPLATE. A module of its own so the function
 * contract (`shared/functions.ts`, in every bundle) takes the names without the templates' text.
 */

/**
 * Default template names.
 *
 * @example
 * TEMPLATE_NAMES.CONFIRMED // 'orderflow-order-confirmed'
 */
export const TEMPLATE_NAMES = {
  CONFIRMED: 'orderflow-order-confirmed',
  CANCELLED: 'orderflow-order-cancelled',
} as const;
