// Plain JSON calls for setting up products and reading metrics, outside the measured rows, and
// `send`, one request on a keep-alive agent for the drivers that measure their own latencies.
import http from "node:http";

export const ADMIN_TOKEN = "dev-admin-token";
export const JSON_HEADERS = { "content-type": "application/json" };

/**
 * @param {string} baseUrl
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {Record<string, string>} [headers]
 * @returns {Promise<{ status: number, json: any }>}
 */
export async function call(baseUrl, method, path, body, headers = {}) {
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: body === undefined ? headers : { ...JSON_HEADERS, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { raw: text };
  }
  return { status: response.status, json };
}

export const admin = (baseUrl, method, path, body) =>
  call(baseUrl, method, path, body, { authorization: `Bearer ${ADMIN_TOKEN}` });

/**
 * Create a product for one row; throws unless the server answers 201. `settings`: optional
 * product settings such as `max_units_per_shopper` (the Worker's only).
 */
export async function createProduct(baseUrl, id, stock, settings = {}) {
  const { status, json } = await admin(baseUrl, "POST", "/api/admin/products", {
    id,
    name: `Bench product ${id}`,
    price_cents: 1999,
    currency: "USD",
    stock,
    ...settings,
  });
  if (status !== 201)
    throw new Error(`creating product ${id}: HTTP ${status} ${JSON.stringify(json)}`);
  return json;
}

export async function productMetrics(baseUrl, id) {
  const { status, json } = await admin(baseUrl, "GET", `/api/admin/products/${id}/metrics`);
  if (status !== 200)
    throw new Error(`metrics of product ${id}: HTTP ${status} ${JSON.stringify(json)}`);
  return json;
}

/** One HTTP request on the shared keep-alive agent: status, parsed JSON, latency in ms. */
export function send(agent, base, method, path, body, headers) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve) => {
    const started = performance.now();
    const request = http.request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method,
        path,
        headers: {
          ...headers,
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
        },
      },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => {
          let json = null;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            // not JSON
          }
          resolve({ status: response.statusCode, json, ms: performance.now() - started });
        });
        response.on("error", (error) =>
          resolve({ status: 0, error: String(error), ms: performance.now() - started }),
        );
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error("timeout")));
    request.on("error", (error) =>
      resolve({
        status: 0,
        error: String(error.message ?? error),
        ms: performance.now() - started,
      }),
    );
    request.end(payload);
  });
}
