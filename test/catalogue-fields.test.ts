import { describe, expect, it } from "vitest";
import { ADMIN, call, expectError, getProduct, newProduct, patchProduct } from "./helpers";

let nextId = 1_950_000_000 - Math.floor(Math.random() * 40_000_000);

const create = (json: Record<string, unknown>) =>
  call("POST", "/api/admin/products", {
    headers: ADMIN,
    json: { id: --nextId, name: "Pictured", price_cents: 100, currency: "EUR", stock: 3, ...json },
  });

describe("a product's picture and description", () => {
  it("are set at creation, shown to shoppers and in the catalogue list, changed and cleared by PATCH", async () => {
    const created = await create({
      image_url: "https://cdn.example.com/shoe.png",
      description: "Canvas, gum sole.",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as number;
    expect(created.body).toMatchObject({
      image_url: "https://cdn.example.com/shoe.png",
      description: "Canvas, gum sole.",
    });
    expect((await getProduct(id)).body).toMatchObject({
      image_url: "https://cdn.example.com/shoe.png",
      description: "Canvas, gum sole.",
    });

    const patched = await patchProduct(id, { image_url: "/images/shoe.svg" });
    expect(patched.status).toBe(200);
    // Only what was given changes.
    expect(patched.body).toMatchObject({
      image_url: "/images/shoe.svg",
      description: "Canvas, gum sole.",
    });

    const listed = await call("GET", `/api/admin/products?cursor=${id - 1}`, { headers: ADMIN });
    expect(listed.body.products[0]).toMatchObject({
      id,
      image_url: "/images/shoe.svg",
      description: "Canvas, gum sole.",
    });

    const cleared = await patchProduct(id, { image_url: null, description: null });
    expect(cleared.body).toMatchObject({ image_url: null, description: null });
    expect((await getProduct(id)).body).toMatchObject({ image_url: null, description: null });
  });

  it("a product made without them has neither", async () => {
    const id = await newProduct(1);
    expect((await getProduct(id)).body).toMatchObject({ image_url: null, description: null });
  });

  it.each([
    ["http (not https)", "http://cdn.example.com/shoe.png"],
    ["a protocol-relative URL (another origin)", "//cdn.example.com/shoe.png"],
    ["a relative path", "images/shoe.png"],
    ["a javascript: URL", "javascript:alert(1)"],
    ["a data: URL", "data:image/svg+xml,<svg/>"],
    ["over 2048 characters", `/images/${"a".repeat(2_041)}`],
  ])("refuses an image_url that is %s (422, nothing changed)", async (_, imageUrl) => {
    const id = await newProduct(1);
    const res = await patchProduct(id, { image_url: imageUrl, name: "Changed" });
    expectError(res, 422, "invalid_request");
    expect(res.body.error.message).toContain("image_url");
    expect((await getProduct(id)).body).toMatchObject({
      name: `Test product ${id}`,
      image_url: null,
    });
    const refused = await create({ image_url: imageUrl });
    expectError(refused, 422, "invalid_request");
    expect((await getProduct(nextId)).status).toBe(404);
  });

  it("accepts an image_url of exactly 2048 characters and a description of 2000", async () => {
    const id = await newProduct(1);
    const longest = `/images/${"a".repeat(2_040)}`;
    expect(longest).toHaveLength(2_048);
    const res = await patchProduct(id, { image_url: longest, description: "d".repeat(2_000) });
    expect(res.status).toBe(200);
    expect(res.body.image_url).toBe(longest);
  });

  it("refuses a description over 2000 characters or not a string (422, nothing changed)", async () => {
    const id = await newProduct(1);
    for (const description of ["d".repeat(2_001), 42]) {
      const res = await patchProduct(id, { description });
      expectError(res, 422, "invalid_request");
      expect(res.body.error.message).toContain("description");
    }
    expect((await getProduct(id)).body.description).toBeNull();
  });
});
