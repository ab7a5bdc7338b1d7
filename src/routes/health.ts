import { createRoute, z } from "@hono/zod-openapi";
import type { CatalogueCache } from "../catalogue/catalogue";
import { errorResponses, jsonResponse, SECURITY } from "../http/openapi";
import type { App } from "../http/context";

const Health = z.object({
  ok: z.literal(true),
  catalogue: z
    .object({
      read_failures: z.number().int(),
      served_stale: z.number().int(),
      answered_by_object: z.number().int(),
    })
    .openapi({
      description:
        "What this isolate saw of D1 failing since it started: catalogue reads that failed, lookups answered with an entry read before, and lookups answered by the product's own object. Non-zero counts mean a D1 outage that the sale rode through.",
    }),
});

const health = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "getHealth",
  tags: ["Service"],
  summary: "Liveness of the Worker itself; touches no product object",
  security: SECURITY.public,
  responses: {
    200: jsonResponse(Health, "The Worker is serving"),
    ...errorResponses(),
  },
});

export function healthRoutes(app: App, catalogue: CatalogueCache): void {
  app.openapi(health, (c) => {
    const { readFailures, servedStale, answeredByObject } = catalogue.outage;
    return c.json(
      {
        ok: true as const,
        catalogue: {
          read_failures: readFailures,
          served_stale: servedStale,
          answered_by_object: answeredByObject,
        },
      },
      200,
    );
  });
}
