// The operator console in a real browser at 1280 px, against a real local server: signing in,
// each product's sale state and live chart, Manage opened in place, confirmations for restock
// and resolve, refunds due and resolved, and axe-core's verdict. Each test makes its own
// products, so the tests run at once.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BASE_URL,
  DESKTOP,
  adminApi,
  assertAccessible,
  createProduct,
  docsScreenshot,
  openPage,
  screenshot,
  shopperApi,
  signInToConsole,
  sleep,
  waitForText,
  useBrowser,
} from "./helpers.mjs";

const browser = useBrowser();

/**
 * A paid-after-cancel order, so a refund is due: hold, order, cancel, then a (simulated)
 * success for it. Returns the refund.
 * @param {number} productId
 */
async function refundDue(productId) {
  const shopper = `e2e-refund-${productId}`;
  const hold = await shopperApi(shopper, "POST", "/api/holds", { product_id: productId, qty: 1 });
  const order = await shopperApi(shopper, "POST", "/api/orders", { hold_id: hold.hold_id });
  await shopperApi(shopper, "POST", `/api/orders/${encodeURIComponent(order.order_id)}/cancel`);
  await shopperApi(shopper, "POST", "/api/payments/webhook", {
    idempotency_key: crypto.randomUUID(),
    order_id: order.order_id,
    status: "success",
    payment_id: `pi_e2e_${productId}`,
  });
  const { refunds } = await adminApi("GET", "/api/admin/refunds?status=due");
  const refund = refunds.find(
    (/** @type {{ order_id: string }} */ r) => r.order_id === order.order_id,
  );
  assert.ok(refund, "a refund is due for the late payment");
  return refund;
}

/**
 * Press Search until the console finds exactly one order (the list reads the order history,
 * which the product's object copies to D1 within moments).
 * @param {import("playwright-core").Page} page
 */
async function searchUntilFound(page) {
  const result = page.locator("#orders-result");
  for (let attempt = 0; attempt < 20; attempt++) {
    await page.locator("#orders-form").getByRole("button", { name: "Search" }).click();
    const said = await waitForText(result, /order(s)? found\.$/);
    if (said === "1 order found.") return;
    await sleep(500);
  }
  assert.fail("the console did not find the order");
}

/** An order number: 8 characters of Crockford's base32, upper case. */
const ORDER_NUMBER = /^[0-9A-HJKMNP-TV-Z]{8}$/;

describe("operator console", { concurrency: true }, () => {
  test("orders: search by order number and by shopper, each order's timeline, revenue and items sold", async () => {
    const product = await createProduct({ name: "Timeline Tote", price_cents: 2_500, stock: 3 });
    const shopperId = `e2e-orders-${product.id}`;
    const hold = await shopperApi(shopperId, "POST", "/api/holds", {
      product_id: product.id,
      qty: 2,
    });
    const order = await shopperApi(shopperId, "POST", "/api/orders", { hold_id: hold.hold_id });
    assert.match(order.order_number, ORDER_NUMBER);
    await shopperApi(shopperId, "POST", "/api/payments/webhook", {
      idempotency_key: crypto.randomUUID(),
      order_id: order.order_id,
      status: "success",
      payment_id: `pi_e2e_orders_${product.id}`,
    });
    const operator = await openPage(browser(), DESKTOP);
    const { page } = operator;
    try {
      await signInToConsole(page);
      const search = page.locator("#orders-form");
      await search.getByLabel("Find by").selectOption("order_number");
      await search.getByLabel("Search").fill(order.order_number.toLowerCase());
      // The list reads the order history, copied from the product's object within moments.
      await searchUntilFound(page);
      const row = page.locator(`#orders tr[data-order-id="${order.order_id}"]`);
      await waitForText(
        row,
        new RegExp(`^${order.order_number} .*#${product.id} 2 \\$50\\.00 Paid`),
      );
      await row.getByRole("button", { name: `Timeline of order ${order.order_number}` }).click();
      const timeline = page.getByRole("list", { name: `Timeline of order ${order.order_number}` });
      await waitForText(timeline, /Reserved.*Order placed.*Paid/);
      await assertAccessible(page, "console, an order's timeline");
      await screenshot(page, "console-desktop-orders", { fullPage: true });

      // By shopper, paid only: the same order.
      await search.getByLabel("Find by").selectOption("shopper_id");
      await search.getByLabel("Search").fill(shopperId);
      await search.getByLabel("Status").selectOption("paid");
      await searchUntilFound(page);
      await waitForText(page.locator("#orders"), new RegExp(order.order_number));

      // What the product has earned, from its counters.
      const earned = page.locator(`#sales-summary tr[data-product-id="${product.id}"]`);
      await waitForText(earned.locator('[data-field="units-sold"]'), /^2$/);
      await waitForText(earned.locator('[data-field="revenue"]'), /^\$50\.00$/);
      operator.assertClean();
    } finally {
      await operator.close();
    }
  });

  test("sale states, a live chart, Manage in place, a restock that asks first, settings", async () => {
    const operator = await openPage(browser(), DESKTOP);
    const { page } = operator;
    const id = 100_000 + Math.floor(Math.random() * 900_000_000);
    const scheduled = await createProduct({ name: "Tomorrow's Drop", stock: 5 });
    await adminApi("PATCH", `/api/admin/products/${scheduled.id}`, {
      sale_starts_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    try {
      // A wrong token is refused with a clear message, and nothing else shows.
      await page.goto(`${BASE_URL}/admin`);
      await page.getByLabel("Admin token").fill("not-the-token");
      await page.getByRole("button", { name: "Sign in" }).click();
      await waitForText(page.locator("#login-result"), /^That token was refused\./);
      assert.equal(await page.locator("#app").isVisible(), false);
      await signInToConsole(page);

      const later = page.locator(`article[data-product-id="${scheduled.id}"]`);
      await waitForText(
        later.locator('[data-field="state"]'),
        /^Scheduled · starts in (59:|1:00:)/,
      );

      const create = page.locator("#create-form");
      await create.getByLabel("Product id").fill(String(id));
      await create.getByLabel("Name").fill("Console Jacket");
      await create.getByLabel("Price").fill("89.50");
      await create.getByLabel("Currency").fill("EUR");
      await create.getByLabel("Stock").fill("4");
      await create.getByRole("button", { name: "Create product" }).click();
      await waitForText(page.locator("#create-form .form-result"), /^Created #\d+ Console Jacket/);
      const card = page.locator(`article[data-product-id="${id}"]`);
      await waitForText(card.locator('[data-field="available"]'), /^4$/);
      await waitForText(card.locator('[data-field="state"]'), /^Live$/);

      // A shopper holds one: the card's figures and its chart follow.
      await shopperApi("e2e-console", "POST", "/api/holds", { product_id: id, qty: 1 });
      await waitForText(card.locator('[data-field="reserved"]'), /^1$/);
      await waitForText(card.locator(".sale-chart-legend"), /In baskets 1/);
      const chart = card.locator(".sale-chart");
      // Samples come with each live frame and each counters read (every 5 s).
      await chart.and(page.locator(':not([data-samples="0"]):not([data-samples="1"])')).waitFor();
      const points = await chart.locator("polyline.series-held").getAttribute("points");
      assert.ok((points ?? "").split(" ").length >= 2, "the held line is drawn");

      // Manage opens the detail right under the card; pressing it again closes it.
      const manage = card.getByRole("button", { name: "Manage" });
      await manage.click();
      await page.locator("#detail").waitFor();
      const inPlace = await page.evaluate(
        (cardId) =>
          document.querySelector(`article[data-product-id="${cardId}"]`)?.nextElementSibling?.id,
        id,
      );
      assert.equal(inPlace, "detail", "the detail opens right after its card");
      assert.equal(await manage.getAttribute("aria-expanded"), "true");

      // Restock asks first: Cancel changes nothing, Add does.
      await page.getByLabel("Units that arrived").fill("6");
      await page.getByRole("button", { name: "Restock…" }).click();
      const dialog = page.getByRole("dialog", { name: /^Add 6 units to #\d+ Console Jacket\?$/ });
      await waitForText(dialog, /Stock goes from 4 to 10/);
      await dialog.getByRole("button", { name: "Cancel" }).click();
      await waitForText(page.locator("#restock-form .form-result"), /^Not restocked\.$/);
      await waitForText(card.locator('[data-field="stock"]'), /^4$/);
      await page.getByRole("button", { name: "Restock…" }).click();
      await dialog.getByRole("button", { name: "Add 6 units" }).click();
      await waitForText(page.locator("#restock-form .form-result"), /^Added 6 units/);
      await waitForText(card.locator('[data-field="available"]'), /^9$/);

      // A picture and a description, shown on the storefront.
      const details = page.locator("#product-form");
      await details.getByLabel("Picture").fill("/images/sneaker.svg");
      await details.getByLabel("Description").fill("Waxed cotton, two pockets.");
      await details.getByRole("button", { name: "Save" }).click();
      await waitForText(page.locator("#product-form .form-result"), /^Saved/);

      const settings = page.locator("#window-form");
      await settings.getByLabel("Units per shopper").fill("1");
      await settings.getByLabel("Late payments").selectOption("accept_if_available");
      await settings.getByRole("button", { name: "Save" }).click();
      await waitForText(page.locator("#window-form .form-result"), /^Saved/);
      const product = await adminApi("GET", `/api/products/${id}`);
      assert.equal(product.max_units_per_shopper, 1);
      assert.equal(product.late_payments, "accept_if_available");
      assert.equal(product.price_cents, 8_950);
      assert.equal(product.currency, "EUR");
      assert.equal(product.image_url, "/images/sneaker.svg");
      assert.equal(product.description, "Waxed cotton, two pockets.");

      // Splitting the stock over shards waits until nothing is held: a unit is in a basket.
      const shards = page.locator("#shards-form");
      assert.equal(await shards.getByLabel("Objects the stock is split over").inputValue(), "1");
      await shards.getByLabel("Objects the stock is split over").fill("4");
      await shards.getByRole("button", { name: "Save" }).click();
      await waitForText(
        page.locator("#shards-form .form-result"),
        /only while nothing is held or pending/,
      );
      assert.equal((await adminApi("GET", `/api/products/${id}`)).shards, undefined);

      await page.getByLabel("Shoppers queue before they can hold").check();
      await page.locator("#queue-form").getByRole("button", { name: "Save" }).click();
      await waitForText(page.locator("#queue-form .form-result"), /^Saved/);
      await waitForText(card.locator('[data-field="queue"]'), /^On/);
      await page.getByRole("button", { name: "Run full check" }).click();
      await waitForText(page.locator("#detail-invariants"), /OK full check/);
      await assertAccessible(page, "console, a product managed");
      await screenshot(page, "console-desktop-manage", { fullPage: true });

      await manage.click();
      await page.locator("#detail").waitFor({ state: "hidden" });
      await page.getByLabel("Find a product").fill(String(id));
      await waitForText(page.locator("#filter-count"), /^1 of \d+ products match$/);
      await page.evaluate("window.scrollTo(0, 0)");
      await docsScreenshot(page, "console");
      operator.assertClean();
    } finally {
      await operator.close();
    }
  });

  test("refunds: resolving needs a note and a confirmation, and resolved ones stay listed", async () => {
    const product = await createProduct({ name: "Late Payment Boots", stock: 1 });
    const refund = await refundDue(product.id);
    const operator = await openPage(browser(), DESKTOP);
    const { page } = operator;
    try {
      await signInToConsole(page);
      const row = page.locator("#refunds tr", { hasText: refund.refund_id });
      await waitForText(row, /Paid after the order closed/);
      await assertAccessible(page, "console, refunds due");
      await row.scrollIntoViewIfNeeded();
      await screenshot(page, "console-desktop-refunds");

      // No note: the form does not go (the note is required), and nothing is asked.
      await row.getByRole("button", { name: "Resolve…" }).click();
      assert.equal(await page.locator("#confirm").isVisible(), false);
      assert.equal(
        await row
          .getByLabel(`Note for refund ${refund.refund_id}`)
          .evaluate((n) => n.matches(":invalid")),
        true,
      );

      await row.getByLabel(`Note for refund ${refund.refund_id}`).fill("re_e2e_123 refunded");
      await row.getByRole("button", { name: "Resolve…" }).click();
      const dialog = page.getByRole("dialog", { name: `Resolve refund ${refund.refund_id}?` });
      await waitForText(dialog, /re_e2e_123 refunded/);
      await dialog.getByRole("button", { name: "Resolve" }).click();
      await waitForText(row, /Resolved re_e2e_123 refunded/);

      // Resolved ones are a filter away, with their note.
      await page.getByLabel("Show").selectOption("resolved");
      const resolvedRow = page.locator("#refunds tr", { hasText: refund.refund_id });
      await waitForText(resolvedRow, /re_e2e_123 refunded/);
      const { refunds } = await adminApi("GET", "/api/admin/refunds?status=resolved");
      const stored = refunds.find(
        (/** @type {{ refund_id: string }} */ r) => r.refund_id === refund.refund_id,
      );
      assert.equal(stored?.note, "re_e2e_123 refunded");
      operator.assertClean();
    } finally {
      await operator.close();
    }
  });
});
