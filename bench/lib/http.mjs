// Plain JSON calls for setting up products and reading metrics, outside the measured rows.

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
