// `npm run shopper-token -- <shopper-id> [--secret S] [--ttl 3600]`: print a shopper token, as a
// storefront backend mints one for a signed-in customer (HS256, sub = shopper id, exp required).
// The secret defaults to $SHOPPER_TOKEN_SECRET; the server must run with the same one, e.g.
// `npm start -- --var SHOPPER_TOKEN_SECRET:dev-shopper-secret`.
import { parseArgs } from "node:util";
import { sign } from "hono/jwt";

const usage = "usage: npm run shopper-token -- <shopper-id> [--secret S] [--ttl SECONDS]";

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { secret: { type: "string" }, ttl: { type: "string", default: "3600" } },
  });
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
  process.exit(2);
}
const { values, positionals } = parsed;
const [shopperId] = positionals;
const secret = values.secret ?? process.env.SHOPPER_TOKEN_SECRET;
const ttl = Number(values.ttl);

if (!shopperId || positionals.length !== 1) fail("give exactly one shopper id");
if (!/^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/.test(shopperId)) {
  fail("the shopper id must be 1 to 128 printable ASCII characters");
}
if (!secret) fail("give --secret or set SHOPPER_TOKEN_SECRET");
if (!Number.isSafeInteger(ttl) || ttl < 1) fail("--ttl must be a positive number of seconds");

const now = Math.floor(Date.now() / 1000);
console.log(await sign({ sub: shopperId, iat: now, exp: now + ttl }, secret, "HS256"));

/** @param {string} message @returns {never} */
function fail(message) {
  console.error(`${message}\n${usage}`);
  process.exit(2);
}
