/**
 * Time limits the deployed stack (`infra/`) and the local loop (`local/`) must agree on, so the local order API
 * gives up on a request exactly when the deployed one would.
 */

/**
 * Invocation timeout of `order-api`, in seconds: well inside the HTTP API's integration timeout, so a request
 * that runs out of time ends as a function timeout rather than as a gateway timeout.
 *
 * @example
 * new OrderflowFunction(this, 'order-api', { timeout: Duration.seconds(ORDER_API_TIMEOUT_SECONDS), ... });
 */
export const ORDER_API_TIMEOUT_SECONDS = 10;

/**
 * How long an HTTP API waits for its integration before answering 503 (a hard quota, not configurable).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 */
export const HTTP_API_INTEGRATION_TIMEOUT_SECONDS = 30;
