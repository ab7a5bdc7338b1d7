/**
 * Queue tickets and admission tokens are signed, not stored: a ticket carries its product, its
 * place (seq) and its shopper; an admission token carries the same and when it expires. Both are
 * HMAC-SHA256 with QUEUE_SECRET, so the Worker checks them without asking the product's object
 * (crypto.subtle.verify compares in constant time), and a ticket keeps its place through any
 * restart of the object.
 *
 * Format: `<kind>.<base64url JSON>.<base64url signature over "<kind>.<payload>">`, where the kind
 * (`qt1` ticket, `qa1` admission) keeps one kind from being passed off as the other.
 */
export interface Ticket {
  productId: number;
  seq: number;
  /** null for an anonymous shopper (local use). */
  shopperId: string | null;
}

export interface Admission extends Ticket {
  /** Epoch ms after which the admission is no longer good for a hold. */
  expiresAt: number;
}

import { hmacKey } from "../contract/hmac-key";

type Kind = "qt1" | "qa1";

const encoder = new TextEncoder();
function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

async function sign(kind: Kind, payload: unknown, secret: string): Promise<string> {
  const body = toBase64Url(encoder.encode(JSON.stringify(payload)));
  const signed = `${kind}.${body}`;
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(signed));
  return `${signed}.${toBase64Url(new Uint8Array(signature))}`;
}

async function open(
  kind: Kind,
  token: string,
  secret: string,
): Promise<Record<string, unknown> | null> {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== kind) return null;
  const [, body, sig] = parts as [string, string, string];
  const signature = fromBase64Url(sig);
  const bytes = fromBase64Url(body);
  if (!signature || !bytes) return null;
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    signature,
    encoder.encode(`${kind}.${body}`),
  );
  if (!valid) return null;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const isSeq = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 1;

function ticketOf(payload: Record<string, unknown>): Ticket | null {
  const { p, s, h } = payload;
  if (!isSeq(p) || !isSeq(s) || !(h === null || typeof h === "string")) return null;
  return { productId: p, seq: s, shopperId: h };
}

export function signTicket(ticket: Ticket, secret: string): Promise<string> {
  return sign("qt1", { p: ticket.productId, s: ticket.seq, h: ticket.shopperId }, secret);
}

/** The ticket, or null when this service did not issue it (forged, altered or truncated). */
export async function verifyTicket(token: string, secret: string): Promise<Ticket | null> {
  const payload = await open("qt1", token, secret);
  return payload && ticketOf(payload);
}

export function signAdmission(admission: Admission, secret: string): Promise<string> {
  return sign(
    "qa1",
    { p: admission.productId, s: admission.seq, h: admission.shopperId, e: admission.expiresAt },
    secret,
  );
}

/** The admission, or null when it is not one this service issued. Expiry is the caller's check. */
export async function verifyAdmission(token: string, secret: string): Promise<Admission | null> {
  const payload = await open("qa1", token, secret);
  const ticket = payload && ticketOf(payload);
  if (!payload || !ticket || typeof payload.e !== "number") return null;
  return { ...ticket, expiresAt: payload.e };
}
