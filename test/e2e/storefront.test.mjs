// The storefront in a real browser (Debian's Chromium through playwright-core), against a real
// local server (npm start's settings), at a phone's 375 px (320 px for the narrowest) and a
// desktop's 1280 px. Every state of the Buy control, what the page says in each, where the focus
// goes after each action, that nothing scrolls sideways, and axe-core's verdict. Each test makes
// its own product, so the tests run at once.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BASE_URL,
  DESKTOP,
  PHONE,
  adminApi,
  assertAccessible,
  assertCountdownRuns,
  assertNoOverflow,
  createProduct,
  docsScreenshot,
  openPage,
  orderOnPage,
  screenshot,
  shopperApi,
  sleep,
  waitForText,
  useBrowser,
} from "./helpers.mjs";

/** @typedef {import("playwright-core").Page} Page */

const browser = useBrowser();

const HOLD_TTL_SECONDS = Number(process.env.E2E_HOLD_TTL_SECONDS ?? 0);
const NARROW = { width: 320, height: 720 };

/**
 * The Buy control says `label`, and is pressable or not.
 * @param {Page} page
 * @param {RegExp} label
 * @param {{ enabled: boolean }} expected
 */
async function assertBuy(page, label, { enabled }) {
  await waitForText(page.locator("#buy"), label);
  assert.equal(await page.locator("#buy").isEnabled(), enabled, `Buy enabled: ${label}`);
  assert.equal(await page.locator("#qty").isEnabled(), enabled, `quantity enabled: ${label}`);
}

/**
 * The focus is on the element, and the status line (the live region) says its words.
 * @param {Page} page
 * @param {string} selector
 * @param {RegExp} says
 */
async function assertArrived(page, selector, says) {
  await waitForText(page.locator(selector), says);
  await waitForText(page.locator("#status"), says);
  const focused = await page.evaluate(() => document.activeElement?.id);
  assert.equal(`#${focused}`, selector, "the focus moved to what the screen now says");
}

/**
 * The options the quantity picker offers.
 * @param {Page} page
 */
const quantities = (page) => page.locator("#qty option").allInnerTexts();

describe("storefront", { concurrency: true }, () => {
  test("one item, two shoppers: Waiting for a unit while the other holds it, Buy when it comes back, Sold out once paid; the receipt", async () => {
    const product = await createProduct({
      name: "Last Pair Sneaker",
      price_cents: 12_900,
      currency: "USD",
      stock: 1,
      image_url: "/images/sneaker.svg",
      description: "Red canvas, white sole, one pair left in the drop.",
    });
    const url = `${BASE_URL}/?product=${product.id}`;
    const alice = await openPage(browser(), DESKTOP);
    const bob = await openPage(browser(), PHONE);
    // Carol watches the same sale at a desktop's width, as Bob does at a phone's.
    const carol = await openPage(browser(), DESKTOP);
    const watchers = [
      { who: "phone", page: bob.page },
      { who: "desktop", page: carol.page },
    ];
    try {
      await Promise.all([alice.page.goto(url), bob.page.goto(url), carol.page.goto(url)]);
      for (const { page } of [alice, bob, carol]) {
        await waitForText(page.locator("#product-name"), /^Last Pair Sneaker$/);
        await waitForText(page.locator("#product-price"), /^\$129\.00$/);
        await waitForText(page.locator(".stock-line"), /^1 left of 1$/);
        await waitForText(page.locator("#live-status"), /^Live$/);
        await assertBuy(page, /^Buy$/, { enabled: true });
        await waitForText(page.locator("#fact-window"), /^On now, while stock lasts$/);
        await waitForText(page.locator("#product-description"), /^Red canvas, white sole/);
        const image = page.getByRole("img", { name: "Last Pair Sneaker" });
        assert.ok(
          await image.evaluate((img) => /** @type {HTMLImageElement} */ (img).naturalWidth > 0),
        );
      }
      await assertNoOverflow(bob.page, "phone, on sale");
      await assertAccessible(bob.page, "storefront, phone, on sale");
      await assertAccessible(alice.page, "storefront, desktop, on sale");
      await screenshot(alice.page, "storefront-desktop");
      await docsScreenshot(alice.page, "storefront-desktop");
      // Whatever Bob and Carol see from here on must come without a reload.
      for (const { page } of watchers) await page.evaluate("window.__sameDocument = true");

      // Alice buys: reserved, the focus and the status line on it, a countdown that runs.
      await alice.page.getByRole("button", { name: "Buy" }).click();
      await assertArrived(alice.page, "#hold-title", /^Reserved for you/);
      await waitForText(
        alice.page.locator("#hold-summary"),
        /^1 item · Last Pair Sneaker · \$129\.00$/,
      );
      await assertCountdownRuns(alice.page.locator("#hold-countdown"));
      await waitForText(
        alice.page.locator("#stock-detail"),
        /^None free: 1 item in your basket\.$/,
      );

      // The others: nothing free, but it may come back: Buy waits, and says so.
      for (const { who, page } of watchers) {
        await assertBuy(page, /^Waiting for a unit$/, { enabled: false });
        await waitForText(page.locator("#stock-available"), /^0$/);
        await waitForText(
          page.locator("#buy-hint"),
          /^If an item comes back, Buy turns on by itself/,
        );
        await waitForText(
          page.locator("#stock-detail"),
          /^None free: 1 item in other shoppers' baskets\./,
        );
        await assertNoOverflow(page, `${who}, waiting for a unit`);
        await assertAccessible(page, `storefront, ${who}, waiting for a unit`);
      }
      await screenshot(bob.page, "storefront-phone-waiting");
      await docsScreenshot(bob.page, "storefront-phone");

      // Alice removes it: the others can buy again, and are told so.
      await alice.page.getByRole("button", { name: "Remove" }).click();
      await waitForText(alice.page.locator("#status"), /^Removed\. The items are back on sale\.$/);
      for (const { page } of watchers) {
        await assertBuy(page, /^Buy$/, { enabled: true });
        await waitForText(page.locator("#status"), /^An item is free: you can buy now\.$/);
      }

      // Alice buys it after all, orders and pays.
      await alice.page.getByRole("button", { name: "Buy" }).click();
      await alice.page.getByRole("button", { name: "Place order" }).click();
      await assertArrived(alice.page, "#order-title", /^Order placed: now pay/);
      await waitForText(
        alice.page.locator("#order-summary"),
        /1 item · Last Pair Sneaker · \$129\.00/,
      );
      await waitForText(alice.page.locator("#pay-countdown"), /^[0-5]\d:\d\d$/);
      await screenshot(alice.page, "storefront-desktop-order");
      await alice.page.getByRole("button", { name: "Simulate payment success" }).click();
      await assertArrived(alice.page, "#done-title", /^Paid\. Thank you!/);
      await waitForText(alice.page.locator("#receipt-item"), /^Last Pair Sneaker$/);
      await waitForText(alice.page.locator("#receipt-qty"), /^1 item$/);
      await waitForText(alice.page.locator("#receipt-amount"), /^\$129\.00$/);
      await waitForText(alice.page.locator("#done-next"), /^What happens next:/);
      await assertAccessible(alice.page, "storefront, desktop, paid");
      await screenshot(alice.page, "storefront-desktop-paid");

      // Nothing can come back now: the others' pages say so, everywhere, without a reload.
      for (const { who, page } of watchers) {
        await assertBuy(page, /^Sold out$/, { enabled: false });
        await waitForText(page.locator("#stock-label"), /^left · sold out$/);
        await waitForText(page.locator("#fact-window"), /^Sold out$/);
        await waitForText(page.locator("#stock-detail"), /^Every item has been sold\.$/);
        const words = await page.locator("#product").innerText();
        assert.doesNotMatch(words, /comes back|come back|while stock lasts/, "no promise left");
        assert.equal(await page.locator("#notice").isVisible(), false);
        assert.equal(await page.evaluate("window.__sameDocument"), true, "no reload");
        await assertNoOverflow(page, `${who}, sold out`);
        await assertAccessible(page, `storefront, ${who}, sold out`);
      }
      await screenshot(bob.page, "storefront-phone-sold-out");
      for (const shopper of [alice, bob, carol]) shopper.assertClean();
    } finally {
      await Promise.all([alice.close(), bob.close(), carol.close()]);
    }
  });

  test("at 320 px: the picker offers only what this shopper may still take, then Limit reached; nothing scrolls sideways in any step", async () => {
    const product = await createProduct({
      name: "Limited Edition Hoodie With A Rather Long Name",
      stock: 5,
    });
    const shopper = await openPage(browser(), NARROW);
    const { page } = shopper;
    try {
      await page.goto(`${BASE_URL}/?product=${product.id}`);
      await waitForText(page.locator("#fact-limit"), /^2 per shopper$/);
      assert.deepEqual(await quantities(page), ["1", "2"]);
      await assertNoOverflow(page, "320 px, on sale");
      for (let round = 1; round <= 2; round++) {
        await page.getByLabel("Quantity").selectOption("1");
        await page.getByRole("button", { name: "Buy" }).click();
        await assertArrived(page, "#hold-title", /^Reserved for you/);
        await assertNoOverflow(page, "320 px, reserved");
        await page.getByRole("button", { name: "Place order" }).click();
        await assertArrived(page, "#order-title", /^Order placed/);
        await page.locator("#order-summary summary").click(); // the support code, opened
        await assertNoOverflow(page, "320 px, order placed, support code open");
        await page.getByRole("button", { name: "Simulate payment success" }).click();
        await assertArrived(page, "#done-title", /^Paid\. Thank you!/);
        await page.locator("#receipt summary").click();
        await assertNoOverflow(page, "320 px, paid, support code open");
        await page.getByRole("button", { name: "Back to the product" }).click();
        // One bought: only one more may be chosen. Two: none.
        if (round === 1) {
          await assertBuy(page, /^Buy$/, { enabled: true });
          assert.deepEqual(await quantities(page), ["1"]);
        }
      }
      await assertBuy(page, /^Limit reached$/, { enabled: false });
      await waitForText(page.locator("#buy-hint"), /^You have 2 items of this already/);
      await assertNoOverflow(page, "320 px, limit reached");
      await screenshot(page, "storefront-narrow-limit");
      // The same shopper at a phone's and a desktop's width: the same state.
      for (const [who, viewport] of /** @type {const} */ ([
        ["phone", PHONE],
        ["desktop", DESKTOP],
      ])) {
        await page.setViewportSize(viewport);
        await assertBuy(page, /^Limit reached$/, { enabled: false });
        await assertNoOverflow(page, `${who}, limit reached`);
      }
      shopper.assertClean();
    } finally {
      await shopper.close();
    }
  });

  test("before the sale: Coming soon with a prominent countdown, Buy by itself at the start; a failed payment gives the item back", async () => {
    const product = await createProduct({ name: "Midnight Drop", stock: 3 });
    // Starts in 45 s: long enough to see Coming soon on a busy machine with every other test
    // running too (a page can take many seconds to load then), short enough to wait for.
    const startsAt = new Date(Date.now() + 45_000).toISOString();
    await adminApi("PATCH", `/api/admin/products/${product.id}`, { sale_starts_at: startsAt });
    const shopper = await openPage(browser(), DESKTOP);
    const phone = await openPage(browser(), PHONE);
    const { page } = shopper;
    try {
      await phone.page.goto(`${BASE_URL}/?product=${product.id}`);
      await assertBuy(phone.page, /^Coming soon starts in 00:[0-4]\d$/, { enabled: false });
      await assertNoOverflow(phone.page, "phone, coming soon");
      await screenshot(phone.page, "storefront-phone-coming-soon");
      await phone.close();
      await page.goto(`${BASE_URL}/?product=${product.id}`);
      await assertBuy(page, /^Coming soon starts in 00:[0-4]\d$/, { enabled: false });
      await assertCountdownRuns(page.locator("#buy-countdown"));
      await waitForText(page.locator("#fact-window"), /^Starts /);
      await waitForText(page.locator("#stock-detail"), /^The sale hasn't started yet\.$/);
      await assertAccessible(page, "storefront, desktop, coming soon");
      await screenshot(page, "storefront-desktop-coming-soon");

      // The sale opens: Buy turns on by itself, and the page says so.
      await waitForText(page.locator("#buy"), /^Buy$/, 60_000);
      await assertBuy(page, /^Buy$/, { enabled: true });
      await waitForText(page.locator("#status"), /^The sale has started: you can buy now\.$/);
      await waitForText(page.locator("#fact-window"), /^On now, while stock lasts$/);
      await page.getByRole("button", { name: "Buy" }).click();
      await page.getByRole("button", { name: "Place order" }).click();
      await waitForText(page.locator("#stock-available"), /^2$/);
      await page.getByRole("button", { name: "Simulate payment failure" }).click();
      await assertArrived(page, "#done-title", /^Payment failed/);
      await waitForText(page.locator("#done-detail"), /^Nothing was charged/);
      await waitForText(page.locator("#stock-available"), /^3$/);
      shopper.assertClean();
    } finally {
      await shopper.close();
    }
  });

  test("after the sale: Sale ended, and the sale fact says when", async () => {
    const product = await createProduct({ name: "Yesterday's Jacket", stock: 3 });
    const endedAt = new Date(Date.now() - 60_000).toISOString();
    await adminApi("PATCH", `/api/admin/products/${product.id}`, { sale_ends_at: endedAt });
    for (const [who, viewport] of /** @type {const} */ ([
      ["phone", PHONE],
      ["desktop", DESKTOP],
    ])) {
      const shopper = await openPage(browser(), viewport);
      const { page } = shopper;
      try {
        await page.goto(`${BASE_URL}/?product=${product.id}`);
        await assertBuy(page, /^Sale ended$/, { enabled: false });
        await waitForText(page.locator("#fact-window"), /^Ended /);
        await waitForText(page.locator("#stock-detail"), /^This sale has ended\.$/);
        await assertNoOverflow(page, `${who}, sale ended`);
        await assertAccessible(page, `storefront, ${who}, sale ended`);
        shopper.assertClean();
      } finally {
        await shopper.close();
      }
    }
  });

  test("a deployment with no payment set up and no shopper identity: the page names no one and says payment is not set up", async () => {
    const product = await createProduct({ name: "Unpaid Umbrella", stock: 2 });
    const shopper = await openPage(browser(), PHONE);
    const { page } = shopper;
    try {
      // The deployment as /api/config would describe one with no STRIPE_SECRET_KEY, signed
      // webhooks only, no SHOPPER_TOKEN_SECRET and no TRUST_SHOPPER_HEADER (anonymous allowed).
      await page.route("**/api/config", async (route) => {
        const config = await (await route.fetch()).json();
        await route.fulfill({
          json: {
            ...config,
            payments: "none",
            simulated_payments: false,
            shopper_identity: "none",
          },
        });
      });
      /** @type {string[]} */
      const named = [];
      page.on("request", (request) => {
        if (request.headers()["x-shopper-id"]) named.push(request.url());
      });
      await orderOnPage(page, product.id);
      await waitForText(
        page.locator("#pay-unavailable"),
        /^Payment is not set up on this shop yet/,
      );
      assert.equal(await page.locator("#pay").isVisible(), false, "no Pay without a provider");
      assert.equal(await page.locator("#simulate").isVisible(), false, "no simulated payment");
      assert.deepEqual(named, [], "no request names a shopper the deployment does not trust");
      await assertAccessible(page, "storefront, payment not set up");
      shopper.assertClean();
    } finally {
      await shopper.close();
    }
  });

  test("the cancelled order says who cancelled it", async () => {
    const product = await createProduct({ name: "Second Thoughts Scarf", stock: 2 });
    const shopper = await openPage(browser(), PHONE);
    const { page } = shopper;
    try {
      await orderOnPage(page, product.id);
      await page.getByRole("button", { name: "Cancel order" }).click();
      await assertArrived(page, "#done-title", /^You cancelled this order$/);
      await waitForText(page.locator("#done-detail"), /^Nothing was charged/);
      await waitForText(page.locator("#stock-available"), /^2$/);
      shopper.assertClean();
    } finally {
      await shopper.close();
    }
  });

  test("with a line: You are 3rd in line — 2 people ahead, with a progress bar", async () => {
    const product = await createProduct({
      name: "Queued Console",
      stock: 2,
      queue: { enabled: true, admit_per_second: 5, admission_ttl_seconds: 60 },
    });
    // Four people join first: the first two are let in (one item each, not yet held), the
    // other two wait for those admissions to be used or run out.
    /** @type {Record<string, { ticket: string }>} */
    const tickets = {};
    for (const name of ["e2e-first", "e2e-second", "e2e-third", "e2e-fourth"]) {
      tickets[name] = await shopperApi(name, "POST", `/api/products/${product.id}/queue`, {});
      await sleep(300);
    }
    const third = tickets["e2e-third"] ?? assert.fail("no ticket");
    const shopper = await openPage(browser(), PHONE);
    const { page } = shopper;
    try {
      await page.goto(`${BASE_URL}/?product=${product.id}`);
      await waitForText(page.locator("#fact-queue"), /^In order of arrival/);
      await assertBuy(page, /^Buy$/, { enabled: true });
      await waitForText(page.locator("#buy-hint"), /^This sale has a line/);
      await page.getByRole("button", { name: "Buy" }).click();
      await assertArrived(page, "#queue-title", /^You're in line/);
      await waitForText(page.locator("#queue-position"), /^You are 3rd in line — 2 people ahead$/);
      await waitForText(page.locator("#status"), /You are 3rd in line — 2 people ahead/);
      const bar = page.getByRole("progressbar", { name: "Your way to the front of the line" });
      assert.equal(await bar.getAttribute("aria-valuenow"), "0");
      await waitForText(page.locator("#queue-detail"), /Keep this page open/);
      await assertNoOverflow(page, "phone, in line");
      await assertAccessible(page, "storefront, phone, in line");
      await screenshot(page, "storefront-phone-queue");

      // Someone ahead leaves the line: this shopper moves up, live, and the bar with them.
      await shopperApi("e2e-third", "DELETE", `/api/queue/${encodeURIComponent(third.ticket)}`);
      await waitForText(page.locator("#queue-position"), /^You are 2nd in line — 1 person ahead$/);
      await waitForText(page.locator("#status"), /^You are 2nd in line\.$/);
      assert.equal(await bar.getAttribute("aria-valuenow"), "50");

      // This shopper leaves too: back to Buy, the place given up on the server.
      const mine = await page.evaluate(() => {
        const key = Object.keys(sessionStorage).find((k) => k.startsWith("flash-sale:checkout:"));
        const progress = JSON.parse(sessionStorage.getItem(key ?? "") ?? "null");
        return { shopper: localStorage.getItem("flash-sale:shopper-id"), ticket: progress?.ticket };
      });
      await page.getByRole("button", { name: "Leave the line" }).click();
      await waitForText(page.locator("#status"), /^You left the line\.$/);
      await assertBuy(page, /^Buy$/, { enabled: true });
      assert.equal(await page.evaluate(() => document.activeElement?.id), "qty");
      const path = `/api/queue/${encodeURIComponent(mine.ticket.ticket)}`;
      const gone = await shopperApi(mine.shopper ?? "", "GET", path);
      assert.equal(gone.state, "left");
      shopper.assertClean();
    } finally {
      await shopper.close();
    }
  });

  test(
    "a hold that runs out says so, and its item is back on sale",
    {
      skip: HOLD_TTL_SECONDS > 0 && HOLD_TTL_SECONDS <= 30 ? false : "needs HOLD_TTL_SECONDS ≤ 30",
    },
    async () => {
      const product = await createProduct({ name: "Fleeting Cap", stock: 1 });
      const shopper = await openPage(browser(), DESKTOP);
      try {
        await shopper.page.goto(`${BASE_URL}/?product=${product.id}`);
        await shopper.page.getByRole("button", { name: "Buy" }).click();
        await waitForText(shopper.page.locator("#stock-available"), /^0$/);
        await waitForText(
          shopper.page.locator("#notice"),
          /^Your hold expired/,
          (HOLD_TTL_SECONDS + 10) * 1_000,
        );
        await waitForText(shopper.page.locator("#stock-available"), /^1$/, 5_000);
        assert.equal(await shopper.page.locator("#step-buy").isVisible(), true);
        shopper.assertClean();
      } finally {
        await shopper.close();
      }
    },
  );

  test("an unknown product: a clear not-found page at 320 px, nothing left loading", async () => {
    const shopper = await openPage(browser(), NARROW);
    const { page } = shopper;
    try {
      await page.goto(`${BASE_URL}/?product=987654321`);
      await waitForText(page.locator("#load-error-title"), /^We can't find that product$/);
      assert.equal(await page.locator("#loading").isVisible(), false);
      assert.equal(await page.locator("#identity-summary").isVisible(), false);
      assert.equal(await page.getByRole("link", { name: "Go to the shop" }).isVisible(), true);
      assert.match(await page.title(), /^We can't find that product/);
      await assertNoOverflow(page, "320 px, not found");
      await assertAccessible(page, "storefront, not found");
      // The 404 for the product is expected; nothing else went wrong.
      shopper.assertClean();
    } finally {
      await shopper.close();
    }
  });
});
