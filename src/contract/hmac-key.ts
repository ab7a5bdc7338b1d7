/**
 * HMAC-SHA256 keys, imported once per secret rather than on every request: shopper tokens and
 * queue tickets are checked on hot paths, and importKey is not free. Only imported keys are shared
 * between requests, never an import in flight (in workerd a request resumed by another request's
 * I/O may answer in that request's context): requests that arrive before the first import has
 * landed import the key themselves, a few times at most per isolate.
 */
const keys = new Map<string, CryptoKey>();

export async function hmacKey(secret: string): Promise<CryptoKey> {
  const known = keys.get(secret);
  if (known) return known;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  keys.set(secret, key);
  return key;
}
