// Paying through the payment provider, end to end in Chromium: Pay asks the server for a
// Checkout Session, the page goes to its URL (the fake Stripe of fake-stripe.mjs, on loopback),
// the "hosted page" pays (a signed checkout.session.completed webhook to the server) and sends
// the shopper back to /?order=…&checkout=success, where the page resumes the order up to its
// receipt. Needs the fake, which `npm run test:e2e` starts with the server.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BASE_URL,
  PHONE,
  adminApi,
  assertAccessible,
  assertNoOverflow,
  createProduct,
  openPage,
  orderOnPage,
  screenshot,
  waitForText,
  useBrowser,
} from "./helpers.mjs";

const browser = useBrowser();

const FAKE_STRIPE = process.env.E2E_FAKE_STRIPE === "1";
/** An order number: 8 characters of Crockford's base32, upper case. */
const ORDER_NUMBER = /^[0-9A-HJKMNP-TV-Z]{8}$/;

describe("checkout at the payment provider", { concurrency: true }, () => {
  test(
    "Pay hands over to the provider, and back on the storefront the order is paid, with its receipt",
    { skip: FAKE_STRIPE ? false : "needs the fake Stripe that npm run test:e2e starts" },
    async () => {
      const product = await createProduct({
        name: "Checkout Runner",
        price_cents: 4_200,
        currency: "USD",
        stock: 2,
      });
      const shopper = await openPage(browser(), PHONE);
      const { page } = shopper;
      try {
        const config = await (await fetch(new URL("/api/config", BASE_URL))).json();
        assert.equal(config.payments, "stripe");
        await orderOnPage(page, product.id);
        const summary = await waitForText(page.locator("#order-summary"), /^Order \w{8}/);
        const orderNumber = summary.slice("Order ".length, "Order ".length + 8);
        assert.match(orderNumber, ORDER_NUMBER);

        // Pay: to the provider's page and back, with the order in the address.
        await page.getByRole("button", { name: "Pay", exact: true }).click();
        await page.waitForURL(/\/\?product=\d+$/, { timeout: 20_000 });
        await waitForText(page.locator("#done-title"), /^Paid\. Thank you!$/, 20_000);
        await waitForText(page.locator("#receipt-order"), new RegExp(`^${orderNumber}\\b`));
        await waitForText(page.locator("#receipt-amount"), /^\$42\.00$/);
        await assertNoOverflow(page, "phone, paid through the provider");
        await assertAccessible(page, "storefront, paid through the provider");
        await screenshot(page, "storefront-phone-paid-checkout");

        const { orders } = await adminApi("GET", `/api/admin/orders?order_number=${orderNumber}`);
        assert.equal(orders.length, 1);
        assert.equal(orders[0].status, "paid");
        assert.ok(orders[0].payment_id, "the provider's payment is on the order");
        shopper.assertClean();
      } finally {
        await shopper.close();
      }
    },
  );

  test("back from the provider without paying: the order is resumed, and Pay is there again", async () => {
    const product = await createProduct({ name: "Changed My Mind Mug", stock: 2 });
    const shopper = await openPage(browser(), PHONE);
    const { page } = shopper;
    try {
      await orderOnPage(page, product.id);
      // The full id is folded away under Support code (its text is there, closed or not).
      const orderId = (await page.locator("#order-summary .support code").textContent()) ?? "";
      assert.match(orderId, /^ord_/);
      // What the provider's cancel URL brings the shopper back to.
      await page.goto(`${BASE_URL}/?order=${encodeURIComponent(orderId)}&checkout=cancel`);
      await waitForText(page.locator("#order-title"), /^Order placed: now pay$/);
      await waitForText(page.locator("#status"), /Payment not finished/);
      await waitForText(page.locator("#product-name"), /^Changed My Mind Mug$/);
      assert.match(page.url(), new RegExp(`/\\?product=${product.id}$`));
      if (FAKE_STRIPE) {
        assert.equal(
          await page.getByRole("button", { name: "Pay", exact: true }).isVisible(),
          true,
        );
      }
      shopper.assertClean();
    } finally {
      await shopper.close();
    }
  });
});
