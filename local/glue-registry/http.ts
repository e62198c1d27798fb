/**
 * Glue's JSON 1.1 protocol around `GlueRegistry`: `POST /` with `X-Amz-Target: AWSGlue.<Action>`, a JSON body,
 * answers as `application/x-amz-json-1.1`; errors as HTTP 400 `{"__type": ..., "Message": ...}`, which is what
 * `@aws-sdk/client-glue` deserializes into its exception classes
 * (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html). Signatures are not checked: the emulator
 * listens on loopback only.
 */
import { randomUUID } from 'node:crypto';
import { GlueApiError, type GlueRegistry } from './registry.js';

/** The JSON 1.1 content type Glue speaks. */
export const CONTENT_TYPE = 'application/x-amz-json-1.1';

/** What `dispatch` needs of an HTTP request. */
export interface GlueHttpRequest {
  readonly method: string;
  readonly path: string;
  /** The `X-Amz-Target` header. */
  readonly target: string | undefined;
  readonly body: string;
}

/** What `dispatch` answers. */
export interface GlueHttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Answers one HTTP request with `glue` (no network: the server only moves bytes).
 *
 * @example
 * dispatch(glue, { method: 'POST', path: '/', target: 'AWSGlue.GetRegistry', body: '{"RegistryId":{"RegistryName":"orderflow"}}' })
 */
export function dispatch(glue: GlueRegistry, request: GlueHttpRequest): GlueHttpResponse {
  try {
    if (request.method !== 'POST' || request.path.split('?')[0] !== '/') {
      throw new GlueApiError(
        'UnknownOperationException',
        `${request.method} ${request.path}: Glue answers POST / only`,
      );
    }
    const action = /^AWSGlue\.(\w+)$/.exec(request.target ?? '')?.[1];
    if (!action) {
      throw new GlueApiError(
        'UnknownOperationException',
        `X-Amz-Target must be AWSGlue.<Action>, got '${request.target ?? ''}'`,
      );
    }
    let input: unknown;
    try {
      input = request.body.trim() === '' ? {} : JSON.parse(request.body);
    } catch {
      throw new GlueApiError('SerializationException', 'the request body is not JSON');
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new GlueApiError('SerializationException', 'the request body must be a JSON object');
    }
    return answer(200, glue.handle(action, input as Record<string, unknown>));
  } catch (error) {
    if (error instanceof GlueApiError) return answer(400, { __type: error.type, Message: error.message });
    return answer(500, { __type: 'InternalServiceException', Message: (error as Error).message });
  }
}

function answer(status: number, body: unknown): GlueHttpResponse {
  return {
    status,
    headers: { 'Content-Type': CONTENT_TYPE, 'x-amzn-RequestId': randomUUID() },
    body: JSON.stringify(body),
  };
}
