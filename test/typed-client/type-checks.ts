// Never run, only compiled: calls the generated types must refuse. If the types were loose (say,
// `any`), an `@ts-expect-error` below would be unused, and that is itself a compile error.
import type { ApiError, StorefrontClient } from "./example";

export function refusedAtCompileTime(client: StorefrontClient): void {
  // @ts-expect-error qty is a number
  void client.POST("/api/holds", { body: { product_id: 1, qty: "1" } });
  // @ts-expect-error qty is required
  void client.POST("/api/holds", { body: { product_id: 1 } });
  // @ts-expect-error the product id is a required path parameter
  void client.GET("/api/products/{id}", {});
  // @ts-expect-error no such path
  void client.GET("/api/nothing-here");
  // @ts-expect-error a product is read, never deleted
  void client.DELETE("/api/products/{id}", { params: { path: { id: "1" } } });

  const known: ApiError["code"] = "insufficient_stock";
  // @ts-expect-error not a code this API answers
  const unknown: ApiError["code"] = "out_of_stock";
  void [known, unknown];
}
