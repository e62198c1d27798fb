/**
 * Live order updates on AWS: an API Gateway WebSocket API speaking the protocol of `shared/live-protocol.ts`.
 * `$connect` is IAM-authorized (a SigV4-presigned `wss://` URL), so only principals given `clientPolicy` can open a
 * connection; `live-connections` handles `$connect`, `$disconnect`, `subscribe`, `unsubscribe` and `$default`
 * (route selection `$request.body.action`, so a malformed message lands on `$default` and gets an error back);
 * `live-notifier`, fed by the bus rule of `RULES`, pushes each status change through the Management API. Other
 * routes cannot carry an authorizer: a WebSocket API authorizes the connection once, at `$connect`.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * Access-log fields of a WebSocket stage
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html). Message bodies are
 * never logged.
 */
export const LIVE_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  connectionId: '$context.connectionId',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  user: '$context.identity.user',
  requestTime: '$context.requestTime',
  status: '$context.status',
  error: '$context.error.message',
  integrationError: '$context.integrationErrorMessage',
} as const;

/** The stage name; the Management API endpoint is `https://<api>.execute-api.<region>.<suffix>/<stage>`. */
export const LIVE_STAGE_NAME = 'live';

/** Properties of `LiveUpdatesApi`. */
export interface LiveUpdatesApiProps {
  /**
   * API name.
   *
   * @default 'orderflow-live'
   */
  readonly apiName?: string;
  /**
   * Steady-state messages per second across the stage (connects and client messages).
   *
   * @default 50
   */
  readonly rateLimit?: number;
  /**
   * Burst above the rate.
   *
   * @default 100
   */
  readonly burstLimit?: number;
}

/**
 * The WebSocket API, its throttled and access-logged stage, and who may connect and post. Built before the
 * functions (they are given `callbackUrl`); `route` then connects the route handler.
 */
export class LiveUpdatesApi extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  /** Attach to the users or roles allowed to open a live connection (`execute-api:Invoke` on `$connect`). */
  readonly clientPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: LiveUpdatesApiProps = {}) {
    super(scope, id);
    this.api = new apigwv2.WebSocketApi(this, 'api', {
      apiName: props.apiName ?? 'orderflow-live',
      description: 'orderflow live order updates',
      routeSelectionExpression: '$request.body.action',
    });
    const accessLogs = new logs.LogGroup(this, 'access-logs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.WebSocketStage(this, 'stage', {
      webSocketApi: this.api,
      stageName: LIVE_STAGE_NAME,
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 50, burstLimit: props.burstLimit ?? 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigw.AccessLogFormat.custom(JSON.stringify(LIVE_ACCESS_LOG_FIELDS)),
      },
    });
    this.clientPolicy = new iam.ManagedPolicy(this, 'client-policy', {
      description: 'opens orderflow live-update connections (WebSocket $connect)',
      statements: [
        new iam.PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [this.api.arnForExecuteApiV2('$connect', LIVE_STAGE_NAME)],
        }),
      ],
    });
  }

  /**
   * Routes `$connect` (IAM-authorized), `$disconnect`, `subscribe`, `unsubscribe` and `$default` to `handler`.
   * Route selection is `$request.body.action`, so a malformed message lands on `$default` and gets an error back.
   */
  route(handler: lambda.IFunction): void {
    const integration = (name: string) => new WebSocketLambdaIntegration(name, handler);
    this.api.addRoute('$connect', { integration: integration('connect'), authorizer: new WebSocketIamAuthorizer() });
    for (const key of ['$disconnect', 'subscribe', 'unsubscribe', '$default']) {
      this.api.addRoute(key, { integration: integration(key.replace('$', '')) });
    }
  }

  /** Lets `fn` post to, read and close this stage's connections (`execute-api:ManageConnections`), nothing else. */
  grantManageConnections(fn: lambda.IFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: [this.api.arnForExecuteApiV2('@connections/*', LIVE_STAGE_NAME)],
      }),
    );
  }

  /** `wss://` URL of the stage. */
  get url(): string {
    return this.stage.url;
  }

  /** Management API endpoint the functions post to (`LIVE_CALLBACK_URL`). */
  get callbackUrl(): string {
    return this.stage.callbackUrl;
  }
}
