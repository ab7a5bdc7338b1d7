import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import type { ErrorCode } from "./contract/errors";
import { HttpError, errorResponse } from "./http/error-answer";
import { configFrom } from "./config";
import type { Env } from "./env";
import { logEvent } from "./log";
import { CatalogueCache } from "./catalogue/catalogue";
import { FrontierCache } from "./queue/frontier-cache";
import { queueRoutes } from "./routes/queue";
import { productStub, Products, type StubFor } from "./reach/product";
import { corsForStorefronts } from "./http/cors";
import { requestId } from "./http/request-id";
import { DEFAULT_RETRY, ProductUnavailable, type RetryPolicy } from "./reach/retry";
import { requireAdmin } from "./auth/admin";
import { adminRoutes } from "./routes/admin";
import { adminOrderRoutes } from "./routes/admin-orders";
import { configRoutes } from "./routes/config";
import { deadLetterRoutes } from "./routes/dead-letters";
import { docsRoutes } from "./routes/docs";
import { refundRoutes } from "./routes/refunds";
import { stripeRoutes } from "./routes/stripe";
import { holdRoutes } from "./routes/holds";
import { orderRoutes } from "./routes/orders";
import { checkoutRoutes } from "./routes/checkout";
import { productRoutes } from "./routes/products";
import type { App, AppEnv } from "./http/context";
import type { RouteDeps } from "./routes/deps";
import { healthRoutes } from "./routes/health";
import { webhookRoutes } from "./routes/webhooks";
import { SoldOutMemory } from "./catalogue/sold-out";

export interface AppOptions {
  /** Where calls for a product go; tests wrap it to inject failures. */
  stubFor?: StubFor;
  retry?: RetryPolicy;
  soldOut?: SoldOutMemory;
  catalogue?: CatalogueCache;
  frontiers?: FrontierCache;
}

function describeIssues(error: ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

const MAX_BODY_BYTES = 16 * 1024;
const MAX_STRIPE_BODY_BYTES = 512 * 1024;

/** Hono's own request errors (body parsing, media type), in this API's words. */
const HTTP_ERRORS: Record<number, [ErrorCode, string]> = {
  400: ["invalid_json", "The request body is not valid JSON."],
  413: ["payload_too_large", `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`],
  415: ["unsupported_media_type", "Send the body as JSON with Content-Type: application/json."],
};

/** Paths and the methods they answer, to tell 405 from 404. */
function methodsFor(app: App, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL") continue;
    const pattern = new RegExp(`^${route.path.replace(/:[^/]+/g, "[^/]+")}$`);
    if (pattern.test(path)) methods.add(route.method);
  }
  return [...methods];
}

/**
 * Workers have no start hook, so a configuration the Worker cannot run with (RATE_LIMITS neither
 * on nor off, a number that is not one) is refused here, on every request: 503
 * `configuration_invalid` naming the variable, and an error log line, before anything else runs.
 */
const configurationChecked = createMiddleware<AppEnv>(async (c, next) => {
  // Without an environment at all (the document built in Node by app.request) there is nothing to check.
  if ((c.env as Env | undefined) === undefined) return next();
  try {
    configFrom(c.env);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logEvent("Configuration refused.", { request_id: c.get("requestId"), error: message }, "error");
    return errorResponse(c, "configuration_invalid", `${message}; fix it and deploy again.`);
  }
  await next();
});

/** The Worker: a thin router that validates input and hands each request to its product's object. */
export function createApp(options: AppOptions = {}): App {
  const catalogue = options.catalogue ?? new CatalogueCache();
  const products = new Products({
    stubFor: options.stubFor ?? productStub,
    retry: options.retry ?? DEFAULT_RETRY,
    catalogue,
  });

  const app: App = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return errorResponse(c, "invalid_request", describeIssues(result.error));
    },
  });

  app.use("*", requestId);
  app.use("*", configurationChecked);
  app.use("*", corsForStorefronts);
  const limitBody = (maxSize: number): MiddlewareHandler<AppEnv> =>
    bodyLimit({
      maxSize,
      onError: (c: Context<AppEnv>) =>
        errorResponse(c, "payload_too_large", `Request bodies are limited to ${maxSize} bytes.`),
    });
  // Stripe's events are bigger than anything a shopper sends, and must be read whole to be verified.
  app.use("/api/payments/stripe", limitBody(MAX_STRIPE_BODY_BYTES));
  const limitShopperBody = limitBody(MAX_BODY_BYTES);
  app.use(
    "*",
    createMiddleware<AppEnv>(async (c, next) =>
      c.req.path === "/api/payments/stripe" ? next() : limitShopperBody(c, next),
    ),
  );

  const deps: RouteDeps = {
    products,
    soldOut: options.soldOut ?? new SoldOutMemory(),
    catalogue,
    frontiers: options.frontiers ?? new FrontierCache(),
  };
  healthRoutes(app, catalogue);
  configRoutes(app);
  productRoutes(app, deps);
  holdRoutes(app, deps);
  queueRoutes(app, deps);
  orderRoutes(app, deps);
  checkoutRoutes(app, deps);
  webhookRoutes(app, deps);
  stripeRoutes(app, deps);
  // Every operator route needs the admin token; registered before them so it runs first.
  app.use("/api/admin/*", requireAdmin);
  adminRoutes(app, deps);
  adminOrderRoutes(app, deps);
  refundRoutes(app, deps);
  deadLetterRoutes(app, deps);
  // GET /openapi.json (the document, with its shared components) and GET /docs (Scalar's reference).
  docsRoutes(app);

  app.notFound((c) => {
    const allowed = methodsFor(app, c.req.path);
    if (allowed.length > 0) {
      c.header("Allow", allowed.join(", "));
      return errorResponse(
        c,
        "method_not_allowed",
        `${c.req.method} is not allowed here; use ${allowed.join(" or ")}.`,
      );
    }
    return errorResponse(c, "not_found", `No route for ${c.req.method} ${c.req.path}.`);
  });

  app.onError((error, c) => {
    if (error instanceof HttpError) {
      return errorResponse(c, error.code, error.message, error.headers);
    }
    if (error instanceof ProductUnavailable) {
      logEvent(
        "Product object unavailable, answering 503.",
        {
          request_id: c.get("requestId"),
          path: c.req.path,
          reason: error.reason,
          attempts: error.attempts,
          error: String(error.lastError),
        },
        "error",
      );
      return errorResponse(
        c,
        "service_unavailable",
        "The product is busy or briefly unavailable; retry shortly.",
      );
    }
    // A middleware that built its own answer (bearer-auth's 401 with WWW-Authenticate).
    if (error instanceof HTTPException && error.res) return error.getResponse();
    const known = error instanceof HTTPException ? HTTP_ERRORS[error.status] : undefined;
    if (known) return errorResponse(c, ...known);
    logEvent(
      "Unhandled error.",
      {
        request_id: c.get("requestId"),
        path: c.req.path,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      },
      "error",
    );
    return errorResponse(c, "internal_error", "Something went wrong on our side.");
  });

  return app;
}
