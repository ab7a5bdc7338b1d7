import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "../env";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** `cf-ray`, or one made up for the request: on every answer and every log line it causes. */
    requestId: string;
    /** The shopper of a route that takes or gives back stock; null when anonymous (local only). */
    shopperId: string | null;
    webhookMessageId: string | null;
  };
}

export type App = OpenAPIHono<AppEnv>;
