/**
 * The public face of orderflow: an HTTP API with IAM (SigV4) authorization on every route, stage throttling and
 * access logs, in front of `order-api`. HTTP APIs have no configurable payload limit, so the 64 KiB body limit is
 * enforced by the function (413); the gateway's own cap is 10 MB and Lambda's 6 MB.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * Access-log fields. CDK's `jsonWithStandardFields` is REST-API shaped: HTTP APIs do not define
 * `$context.resourcePath`, they name the matched route in `$context.routeKey`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  user: '$context.identity.user',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  integrationError: '$context.integrationErrorMessage',
} as const;

/** Properties of `OrderHttpApi`. */
export interface OrderHttpApiProps {
  /** The `order-api` function. */
  readonly handler: lambda.IFunction;
  /**
   * API name (names need not be unique; the stage suffix only tells two stacks' APIs apart in the console).
   *
   * @default 'orderflow'
   */
  readonly apiName?: string;
  /**
   * Steady-state requests per second across the stage.
   *
   * @default 100
   */
  readonly rateLimit?: number;
  /**
   * Burst of requests above the rate.
   *
   * @default 200
   */
  readonly burstLimit?: number;
}

/** `POST /orders` and `GET /orders/{orderId}` behind IAM authorization. */
export class OrderHttpApi extends Construct {
  /** The API. */
  readonly api: apigwv2.HttpApi;
  /** The `$default` stage (throttled, access-logged). */
  readonly stage: apigwv2.HttpStage;
  /** Attach to the users or roles allowed to call the API. */
  readonly clientPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: OrderHttpApiProps) {
    super(scope, id);
    this.api = new apigwv2.HttpApi(this, 'api', {
      apiName: props.apiName ?? 'orderflow',
      description: 'orderflow order API',
      createDefaultStage: false,
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    const accessLogs = new logs.LogGroup(this, 'access-logs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.HttpStage(this, 'stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 100, burstLimit: props.burstLimit ?? 200 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    const integration = new HttpLambdaIntegration('order-api', props.handler, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    this.api.addRoutes({ path: '/orders', methods: [apigwv2.HttpMethod.POST], integration });
    this.api.addRoutes({ path: '/orders/{orderId}', methods: [apigwv2.HttpMethod.GET], integration });

    this.clientPolicy = new iam.ManagedPolicy(this, 'client-policy', {
      description: 'calls the orderflow order API (POST /orders, GET /orders/{orderId})',
      statements: [
        new iam.PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [
            this.api.arnForExecuteApi('POST', '/orders', '$default'),
            this.api.arnForExecuteApi('GET', '/orders/*', '$default'),
          ],
        }),
      ],
    });
  }

  /** Base URL of the stage. */
  get url(): string {
    return this.stage.url;
  }
}
