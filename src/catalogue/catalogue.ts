import {
  CATALOGUE_COLUMNS as COLUMNS,
  CATALOGUE_FIELDS,
  readCatalogue,
  type CatalogueEntry,
} from "../contract/catalogue-entry";
import { logEvent } from "../log";

/**
 * The D1 catalogue as the Worker uses it: creating and changing products, and a per-isolate cache
 * of lookups, so a storm of requests naming a product costs one D1 read per id per period.
 */

/** What the operator may change after a product is made (its id, currency and stock stay). */
const CHANGEABLE_FIELDS = CATALOGUE_FIELDS.filter(
  (field) => field !== "id" && field !== "currency" && field !== "initial_stock",
);

/** A field's value to bind: `shards` is absent from entries made before it existed (1). */
function bound(entry: CatalogueEntry, field: (typeof CATALOGUE_FIELDS)[number]) {
  return field === "shards" ? (entry.shards ?? 1) : entry[field];
}

/** Put a new product in the catalogue; false when one with its id is there already. */
export async function insertCatalogue(db: D1Database, entry: CatalogueEntry): Promise<boolean> {
  const places = CATALOGUE_FIELDS.map(() => "?").join(", ");
  const inserted = await db
    .prepare(`INSERT INTO products (${COLUMNS}) VALUES (${places}) ON CONFLICT (id) DO NOTHING`)
    .bind(...CATALOGUE_FIELDS.map((field) => bound(entry, field)))
    .run();
  return inserted.meta.changes > 0;
}

/** Write an entry's settings back, after the product's object changed them. */
export async function writeCatalogue(db: D1Database, entry: CatalogueEntry): Promise<void> {
  const settings = CHANGEABLE_FIELDS.map((field) => `${field} = ?`).join(", ");
  await db
    .prepare(`UPDATE products SET ${settings} WHERE id = ?`)
    .bind(...CHANGEABLE_FIELDS.map((field) => bound(entry, field)), entry.id)
    .run();
}

/** A product as the operator's list shows it. */
export interface CatalogueListItem extends Omit<
  CatalogueEntry,
  "initial_stock" | "queue_enabled" | "queue_admit_per_second" | "queue_admission_ttl_seconds"
> {
  initial_stock: number;
  queue_enabled: boolean;
  created_at: string;
}

/** Products by id, after `afterId`; throws when D1 cannot answer. */
export async function listCatalogue(
  db: D1Database,
  page: { afterId: number; limit: number },
): Promise<CatalogueListItem[]> {
  const { results } = await db
    .prepare(
      `SELECT id, name, price_cents, currency, initial_stock, sale_starts_at, sale_ends_at,
              max_units_per_shopper, late_payments, queue_enabled, image_url, description,
              created_at
       FROM products WHERE id > ? ORDER BY id LIMIT ?`,
    )
    .bind(page.afterId, page.limit)
    .all<Omit<CatalogueListItem, "queue_enabled"> & { queue_enabled: number }>();
  return results.map(({ queue_enabled, ...item }) => ({
    ...item,
    queue_enabled: queue_enabled === 1,
  }));
}

/** What this isolate saw of D1 failing, for /healthz: a D1 outage shows here before anywhere else. */
export interface CatalogueOutage {
  /** Catalogue reads that failed. */
  readFailures: number;
  /** Lookups answered with an entry read before, because D1 could not be read. */
  servedStale: number;
  /** Lookups answered by the product's own object, because D1 could not be read. */
  answeredByObject: number;
}

/** A read of an id in flight this long is taken to be lost (its request went away). */
const READ_LOST_MS = 1_000;

/**
 * What the Worker remembers of the catalogue: entries and misses, each for `ttlMs`. Only what was
 * read is shared between requests, never a read in flight: a request resumed by another request's
 * I/O may answer in that request's context in workerd (see src/reach/product-reads.ts). So while
 * one request refreshes an entry the others are answered with the entry read before, and lookups
 * of an id never read here that arrive while its first read is in flight sleep on timers of their
 * own until it has landed (one D1 read per id per period). A failed read is not remembered: while D1
 * fails, an entry read before is served stale (for another `ttlMs` before D1 is tried again),
 * logged and counted, so an outage of D1 never stops a product this isolate has seen.
 */
export class CatalogueCache {
  private readonly entries = new Map<number, Remembered>();
  /** Ids a request is reading from D1 now, and since when. */
  private readonly reading = new Map<number, { since: number }>();
  readonly outage: CatalogueOutage = { readFailures: 0, servedStale: 0, answeredByObject: 0 };

  constructor(
    private readonly ttlMs = 5_000,
    private readonly now: () => number = () => Date.now(),
    /** Bounds the memory a scan of random ids can take; the oldest entries go first. */
    private readonly maxEntries = 10_000,
    /** Sleeps on a timer of the caller's own request. */
    private readonly sleep = (ms: number) => new Promise<void>((wake) => setTimeout(wake, ms)),
  ) {}

  /** The entry (null: no such product); throws when D1 fails and no entry was ever read here. */
  async lookup(db: D1Database, productId: number): Promise<CatalogueEntry | null> {
    const cached = this.entries.get(productId);
    const now = this.now();
    if (cached && cached.until > now) return cached.entry;
    // Another request is reading it (and has not been at it so long that it must have gone away):
    // the entry read before meanwhile, or, for an id never read here, look again shortly.
    if ((this.reading.get(productId)?.since ?? -Infinity) > now - READ_LOST_MS) {
      if (cached) return cached.entry;
      await this.sleep(1);
      return this.lookup(db, productId);
    }
    const mine = { since: now };
    this.reading.set(productId, mine);
    try {
      const read = await readCatalogue(db, productId);
      // Unless this isolate learnt something newer meanwhile (a change made through it).
      if (this.entries.get(productId) === cached) this.remember(productId, read);
      return read;
    } catch (error) {
      this.outage.readFailures++;
      const known = cached?.entry ?? cached?.known;
      if (!known) {
        if (cached) this.entries.delete(productId);
        throw error;
      }
      this.outage.servedStale++;
      logEvent(
        "Product catalogue unavailable, serving the entry read before.",
        { product_id: productId, error: String(error) },
        "warn",
      );
      this.keep(productId, known, known);
      return known;
    } finally {
      if (this.reading.get(productId) === mine) this.reading.delete(productId);
    }
  }

  /** Record what this isolate just learnt (a product created or changed through it). */
  remember(productId: number, entry: CatalogueEntry | null): void {
    this.keep(productId, entry, entry ?? this.entries.get(productId)?.known);
  }

  /** An entry the product's object gave while D1 failed: served for `ttlMs`, then D1 again. */
  rememberFromObject(productId: number, entry: CatalogueEntry): void {
    this.outage.answeredByObject++;
    this.remember(productId, entry);
  }

  private keep(
    productId: number,
    entry: CatalogueEntry | null,
    known: CatalogueEntry | undefined,
  ): void {
    this.entries.delete(productId);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(productId, { entry, until: this.now() + this.ttlMs, known });
  }
}

interface Remembered {
  /** What the last read found (null: no such product). */
  entry: CatalogueEntry | null;
  /** Until when it is answered without asking D1 again. */
  until: number;
  /** The last entry ever read for the id, served while D1 fails. */
  known?: CatalogueEntry;
}
