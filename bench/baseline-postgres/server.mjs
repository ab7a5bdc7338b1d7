// The baseline's HTTP server: plain node:http (no framework), one process, a pg connection Pool.
// Same routes and JSON shapes as the Worker for what the bench uses.
//
// env PORT            loopback port to listen on
//     PGHOST, PGPORT, PGUSER, PGDATABASE   where PostgreSQL is (PGHOST may be a socket directory)
//     PG_POOL_SIZE    connections in the pool (default 10)
//     ADMIN_TOKEN     bearer token for /api/admin/*
import { createServer } from "node:http";
import pg from "pg";
import { checkout } from "./checkout.mjs";
import { Refusal } from "./transaction.mjs";

const POOL_SIZE = Number(process.env.PG_POOL_SIZE ?? 10);
const pool = new pg.Pool({ max: POOL_SIZE });
const shop = checkout(pool);

const json = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
};
const fail = (res, status, code, message) => json(res, status, { error: { code, message } });

const positiveInt = (v) => Number.isSafeInteger(v) && v >= 1 && v <= 2_147_483_647;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(new Refusal(400, "invalid_json", "The body is not valid JSON."));
      }
    });
    req.on("error", reject);
  });
}

function requireAdmin(req) {
  if (req.headers.authorization !== `Bearer ${process.env.ADMIN_TOKEN}`) {
    throw new Refusal(401, "unauthorized", "A valid admin bearer token is required.");
  }
}

const invalid = (message) => new Refusal(422, "invalid_request", message);

/** @type {[string, RegExp, (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse, m: RegExpMatchArray) => Promise<void>][]} */
const routes = [
  ["GET", /^\/healthz$/, async (_req, res) => json(res, 200, { ok: true })],
  [
    "GET",
    /^\/api\/products\/([1-9][0-9]{0,9})$/,
    async (_req, res, m) => json(res, 200, await shop.product(Number(m[1]))),
  ],
  [
    "POST",
    /^\/api\/holds$/,
    async (req, res) => {
      const body = await readJson(req);
      if (!positiveInt(body?.product_id))
        throw invalid("product_id: a positive integer is required");
      if (!Number.isSafeInteger(body.qty) || body.qty < 1 || body.qty > 5)
        throw invalid("qty: 1..5");
      const key = req.headers["idempotency-key"];
      const { hold, replayed } = await shop.hold(
        body.product_id,
        body.qty,
        typeof key === "string" ? key : undefined,
      );
      if (replayed) res.setHeader("Idempotent-Replayed", "true");
      json(res, 201, hold);
    },
  ],
  [
    "POST",
    /^\/api\/orders$/,
    async (req, res) => {
      const body = await readJson(req);
      if (typeof body?.hold_id !== "string") throw invalid("hold_id: required");
      if (!UUID.test(body.hold_id))
        throw new Refusal(404, "hold_not_found", `No hold ${body.hold_id}.`);
      const { order, created } = await shop.order(body.hold_id);
      json(res, created ? 201 : 200, order);
    },
  ],
  [
    "POST",
    /^\/api\/payments\/webhook$/,
    async (req, res) => {
      const body = await readJson(req);
      if (typeof body?.idempotency_key !== "string" || !body.idempotency_key)
        throw invalid("idempotency_key: required");
      if (body.status !== "success" && body.status !== "failure")
        throw invalid("status: success or failure");
      if (typeof body.order_id !== "string" || !UUID.test(body.order_id))
        throw new Refusal(404, "order_not_found", `No order ${body.order_id}.`);
      json(
        res,
        200,
        await shop.payment({
          idempotencyKey: body.idempotency_key,
          orderId: body.order_id,
          status: body.status,
        }),
      );
    },
  ],
  [
    "POST",
    /^\/api\/admin\/products$/,
    async (req, res) => {
      requireAdmin(req);
      const body = await readJson(req);
      if (!positiveInt(body?.id) || !Number.isSafeInteger(body.stock) || body.stock < 0)
        throw invalid("id and stock are required");
      json(res, 201, await shop.createProduct(body));
    },
  ],
  [
    "GET",
    /^\/api\/admin\/products\/([1-9][0-9]{0,9})\/metrics$/,
    async (req, res, m) => {
      requireAdmin(req);
      json(res, 200, await shop.metrics(Number(m[1])));
    },
  ],
];

const server = createServer(async (req, res) => {
  const path = (req.url ?? "/").split("?")[0];
  try {
    for (const [method, pattern, handle] of routes) {
      const m = pattern.exec(path);
      if (m && req.method === method) return await handle(req, res, m);
    }
    req.resume();
    fail(res, 404, "not_found", `No route for ${req.method} ${path}.`);
  } catch (error) {
    if (error instanceof Refusal) return fail(res, error.status, error.code, error.message);
    console.error(error);
    fail(res, 500, "internal_error", "Something went wrong on our side.");
  }
});

server.listen(Number(process.env.PORT), "127.0.0.1", () =>
  console.log(`READY http://127.0.0.1:${process.env.PORT} pool=${POOL_SIZE}`),
);

const stop = () => server.close(() => pool.end().finally(() => process.exit(0)));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
