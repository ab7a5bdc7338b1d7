import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, jsonResponse, SECURITY } from "../http/openapi";
import type { App } from "../http/context";

const health = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "getHealth",
  tags: ["Service"],
  summary: "Liveness of the Worker itself; touches no product object",
  security: SECURITY.public,
  responses: {
    200: jsonResponse(z.object({ ok: z.literal(true) }), "The Worker is serving"),
    ...errorResponses(),
  },
});

export function healthRoutes(app: App): void {
  app.openapi(health, (c) => c.json({ ok: true as const }, 200));
}
