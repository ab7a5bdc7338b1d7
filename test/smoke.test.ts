import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("serves product 1", async () => {
  const res = await exports.default.fetch("http://example.com/api/products/1");
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ id: 1, stock: 10, reserved: 0, available: 10 });
});
