// What the browser tests share: the browser, admin calls to set a scene up, shoppers (one
// browser context each, so each has its own localStorage and so its own shopper id), waiting for
// text, and screenshots.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

/** @typedef {import("playwright-core").Browser} Browser */
/** @typedef {import("playwright-core").Page} Page */
/** @typedef {import("playwright-core").Locator} Locator */
/** @typedef {import("../../src/contract/openapi.d.ts").components["schemas"]} Schemas */
/** @typedef {Schemas["Product"]} Product */
/** @typedef {Schemas["ProductCreateRequest"]} ProductCreateRequest */

export const BASE_URL = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8787";
export const ADMIN_TOKEN = process.env.E2E_ADMIN_TOKEN ?? "dev-admin-token";
export const SHOTS_DIR = fileURLToPath(new URL("../../test-results/e2e/", import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const PHONE = { width: 375, height: 812 };
export const DESKTOP = { width: 1280, height: 800 };

/** Debian's Chromium, headless, with everything that would call Google's servers turned off. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run .ci/install-browser (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * One Chromium for a test file: launched before its tests, closed after them. Returns a getter,
 * since the browser exists only once the tests run.
 * @returns {() => Browser}
 */
export function useBrowser() {
  /** @type {Browser | null} */
  let browser = null;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  return () => browser ?? assert.fail("the browser is launched before the tests run");
}

/**
 * On a product's page, Buy one and place the order: the order step is showing when it returns.
 * @param {Page} page
 * @param {number} productId
 */
export async function orderOnPage(page, productId) {
  await page.goto(`${BASE_URL}/?product=${productId}`);
  await page.getByRole("button", { name: "Buy" }).click();
  await page.getByRole("button", { name: "Place order" }).click();
  await waitForText(page.locator("#order-title"), /^Order placed/);
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An admin API call; throws with the API's error unless it answered 2xx. The answer is the
 * parsed JSON; the caller says which of the API's shapes (Schemas) it is.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {Record<string, string>} [headers]
 * @returns {Promise<any>}
 */
export async function adminApi(method, path, body, headers = {}) {
  const res = await fetch(new URL(path, BASE_URL), {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

/**
 * A product of its own for each test, so tests can run at once and against a server that has
 * other products: a random id, tried again on the rare clash.
 * @param {Partial<ProductCreateRequest>} fields
 * @returns {Promise<Product>}
 */
export async function createProduct(fields) {
  for (let attempt = 0; ; attempt++) {
    const id = 100_000 + Math.floor(Math.random() * 900_000_000);
    try {
      return await adminApi("POST", "/api/admin/products", {
        id,
        name: "E2E product",
        price_cents: 4_999,
        currency: "USD",
        stock: 1,
        ...fields,
      });
    } catch (error) {
      if (attempt < 3 && String(error).includes("product_exists")) continue;
      throw error;
    }
  }
}

/**
 * A shopper: a fresh browser context (its own storage, so its own generated shopper id) and a
 * page. Uncaught page errors and any request that leaves loopback are recorded, and
 * `assertClean()` fails the test on either.
 * @param {Browser} browser
 * @param {{ width: number, height: number }} [viewport]
 */
export async function openPage(browser, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, reducedMotion: "reduce" });
  const page = await context.newPage();
  /** @type {string[]} */
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!["http:", "https:", "ws:", "wss:"].includes(url.protocol)) return;
    if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") {
      problems.push(`request beyond loopback: ${request.url()}`);
    }
  });
  return {
    context,
    page,
    assertClean() {
      assert.deepEqual(problems, [], "the page had errors or left loopback");
    },
    close: () => context.close(),
  };
}

/**
 * Wait until the locator's visible text (innerText: what a person reads, blocks apart, spaces
 * collapsed) matches, and return it; a failure says what it last was.
 * @param {Locator} locator
 * @param {{ test(text: string): boolean, toString?(): string }} pattern a RegExp, or any object with test()
 * @param {number} [timeout] ms
 * @returns {Promise<string>}
 */
export async function waitForText(locator, pattern, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    const text = await locator
      .innerText({ timeout: 1_000 })
      .then((t) => t.replace(/\s+/g, " ").trim())
      .catch(() => null);
    if (text !== null) {
      last = text;
      if (pattern.test(text)) return text;
    }
    if (Date.now() > deadline) {
      assert.fail(`expected ${pattern} in ${locator}, last saw ${JSON.stringify(last)}`);
    }
    await sleep(100);
  }
}

/**
 * "01:59" → 119 (seconds); also "1:02:03".
 * @param {string} countdown
 */
export function seconds(countdown) {
  const parts = countdown.trim().split(":").map(Number);
  assert.ok(parts.every(Number.isInteger), `not a countdown: ${countdown}`);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

/**
 * The countdown in the locator's text (the first mm:ss in it) runs: a second or more after a first
 * reading it shows less time. On a busy machine a page's timer can lag, so the second reading
 * waits up to 5 s for the change rather than insisting on an exact moment.
 * @param {Locator} locator
 */
export async function assertCountdownRuns(locator) {
  const clock = /\b(\d+:)?\d\d:\d\d\b/;
  /** @param {string} text */
  const reading = (text) => text.match(clock)?.[0] ?? "";
  const first = reading(await waitForText(locator, clock));
  await sleep(1_100);
  const later = await waitForText(
    locator,
    {
      test: (text) => clock.test(text) && reading(text) !== first,
      toString: () => `a countdown other than ${first}`,
    },
    5_000,
  );
  const second = reading(later);
  assert.ok(seconds(second) < seconds(first), `the countdown went from ${first} to ${second}`);
  return [first, second];
}

/**
 * A shopper calling the API directly (the local server names shoppers by X-Shopper-Id), to set
 * a scene up around the shopper in the browser: someone else holding the last item, people
 * ahead in the line. Throws unless the API answered 2xx.
 * @param {string} shopperId
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function shopperApi(shopperId, method, path, body) {
  const res = await fetch(new URL(path, BASE_URL), {
    method,
    headers: {
      "x-shopper-id": shopperId,
      "idempotency-key": crypto.randomUUID(),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

/**
 * Nothing on the page is wider than the window: no sideways scrolling at this viewport.
 * @param {Page} page
 * @param {string} where the state being checked, for the failure message
 */
export async function assertNoOverflow(page, where) {
  const { scroll, width, wide } = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")]
      .filter((node) => {
        const box = node.getBoundingClientRect();
        return box.width > 0 && box.right > width + 1 && !node.closest(".table-scroll");
      })
      .slice(0, 3)
      .map((node) => `${node.tagName.toLowerCase()}#${node.id}.${node.className}`);
    return { scroll: document.documentElement.scrollWidth, width, wide };
  });
  assert.ok(
    scroll <= width && wide.length === 0,
    `${where}: ${scroll} px wide in ${width} px; ${wide.join(", ")}`,
  );
}

const AXE_SOURCE = readFileSync(
  fileURLToPath(new URL("../../node_modules/axe-core/axe.min.js", import.meta.url)),
  "utf8",
);

/**
 * axe-core (from node_modules, injected into the page: nothing from a CDN) finds no serious or
 * critical violation of WCAG 2.x A/AA and best practice on the page as it is now.
 * @param {Page} page
 * @param {string} where the state being checked, for the failure message
 */
export async function assertAccessible(page, where) {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    // @ts-expect-error axe is the global the injected source defines
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return /** @type {{ id: string, impact: string, nodes: { target: string[] }[] }[]} */ (
      result.violations
    )
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
  });
  assert.deepEqual(violations, [], `axe on ${where}`);
}

/** Where the README's pictures are kept: the e2e run draws them again each time. */
export const DOCS_SHOTS_DIR = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));

/**
 * A screenshot for the README, into docs/screenshots/ (committed).
 * @param {Page} page
 * @param {string} name
 * @param {{ fullPage?: boolean }} [options]
 */
export async function docsScreenshot(page, name, { fullPage = false } = {}) {
  await mkdir(DOCS_SHOTS_DIR, { recursive: true });
  await page.screenshot({ path: join(DOCS_SHOTS_DIR, `${name}.png`), fullPage });
}

/**
 * A screenshot under test-results/e2e/ (git-ignored).
 * @param {Page} page
 * @param {string} name
 * @param {{ fullPage?: boolean }} [options]
 */
export async function screenshot(page, name, { fullPage = false } = {}) {
  await mkdir(SHOTS_DIR, { recursive: true });
  const path = join(SHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

/**
 * Sign in to the operator console in this page.
 * @param {Page} page
 */
export async function signInToConsole(page) {
  await page.goto(`${BASE_URL}/admin`);
  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Products" }).waitFor();
}
