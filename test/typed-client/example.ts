// A typed storefront client: openapi-fetch over the types openapi-typescript generates from
// GET /openapi.json (src/contract/openapi.d.ts; `npm run openapi:types` regenerates them).
// `tsc --noEmit` and test/typed-client/openapi.spec.mjs compile it; test/openapi.test.ts runs it
// against the Worker.
import createClient from "openapi-fetch";
import type { components, paths } from "../../src/contract/openapi";

export type Product = components["schemas"]["Product"];
export type Hold = components["schemas"]["Hold"];
export type Order = components["schemas"]["Order"];
export type ApiError = components["schemas"]["Error"]["error"];

/** A client for the storefront routes: the API's base URL, and the shopper's token if any. */
export function storefrontClient(options: {
  baseUrl: string;
  shopperToken?: string;
  fetch?: (request: Request) => Promise<Response>;
}) {
  return createClient<paths>({
    baseUrl: options.baseUrl,
    headers: options.shopperToken ? { Authorization: `Bearer ${options.shopperToken}` } : {},
    fetch: options.fetch,
  });
}

export type StorefrontClient = ReturnType<typeof storefrontClient>;

/** An error answer: its status, and the API's code (typed: the codes the API can answer). */
export class CheckoutError extends Error {
  constructor(
    readonly status: number,
    readonly error: ApiError,
  ) {
    super(`${status} ${error.code}: ${error.message}`);
  }
}

export async function getProduct(client: StorefrontClient, id: number): Promise<Product> {
  const { data, error, response } = await client.GET("/api/products/{id}", {
    params: { path: { id: String(id) } },
  });
  if (error) throw new CheckoutError(response.status, error.error);
  return data;
}

/** Hold units; a retry with the same idempotency key gets the same hold back (`replayed`). */
export async function holdUnits(
  client: StorefrontClient,
  productId: number,
  qty: number,
  idempotencyKey: string = crypto.randomUUID(),
): Promise<{ hold: Hold; replayed: boolean }> {
  const { data, error, response } = await client.POST("/api/holds", {
    params: { header: { "idempotency-key": idempotencyKey } },
    body: { product_id: productId, qty },
  });
  if (error) throw new CheckoutError(response.status, error.error);
  return { hold: data, replayed: response.headers.get("Idempotent-Replayed") === "true" };
}

/** Turn a hold into an order (201 the first time, 200 with the same order after). */
export async function orderHold(client: StorefrontClient, holdId: string): Promise<Order> {
  const { data, error, response } = await client.POST("/api/orders", {
    body: { hold_id: holdId },
  });
  if (error) throw new CheckoutError(response.status, error.error);
  return data;
}
