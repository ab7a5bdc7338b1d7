import { inOwnRequest } from "../reach/single-flight";
import {
  CATALOGUE_COLUMNS as COLUMNS,
  readCatalogue,
  type CatalogueEntry,
} from "../contract/catalogue-entry";
import { logEvent } from "../log";

/**
 * The D1 catalogue as the Worker uses it: creating and changing products, and a per-isolate cache
 * of lookups, so a storm of requests naming a product costs one D1 read per id per period.
 */

/** Put a new product in the catalogue; false when one with its id is there already. */
export async function insertCatalogue(db: D1Database, entry: CatalogueEntry): Promise<boolean> {
  const inserted = await db
    .prepare(
      `INSERT INTO products (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    )
    .bind(
      entry.id,
      entry.name,
      entry.price_cents,
      entry.currency,
      entry.initial_stock,
      entry.sale_starts_at,
      entry.sale_ends_at,
      entry.max_units_per_shopper,
      entry.late_payments,
      entry.queue_enabled,
      entry.queue_admit_per_second,
      entry.queue_admission_ttl_seconds,
      entry.image_url,
      entry.description,
      entry.shards ?? 1,
    )
    .run();
  return inserted.meta.changes > 0;
}

/** Write an entry's settings back, after the product's object changed them. */
export async function writeCatalogue(db: D1Database, entry: CatalogueEntry): Promise<void> {
  await db
    .prepare(
      `UPDATE products SET name = ?, price_cents = ?, sale_starts_at = ?, sale_ends_at = ?,
         max_units_per_shopper = ?, late_payments = ?, queue_enabled = ?, queue_admit_per_second = ?,
         queue_admission_ttl_seconds = ?, image_url = ?, description = ?, shards = ?
       WHERE id = ?`,
    )
    .bind(
      entry.name,
      entry.price_cents,
      entry.sale_starts_at,
      entry.sale_ends_at,
      entry.max_units_per_shopper,
      entry.late_payments,
      entry.queue_enabled,
      entry.queue_admit_per_second,
      entry.queue_admission_ttl_seconds,
      entry.image_url,
      entry.description,
      entry.shards ?? 1,
      entry.id,
    )
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

/**
 * What the Worker remembers of the catalogue: entries and misses, each for `ttlMs`. Lookups of an
 * id that arrive while its read is in flight share that read. A failed read is not remembered:
 * while D1 fails, an entry read before is served stale (for another `ttlMs` before D1 is tried
 * again), logged and counted, so an outage of D1 never stops a product this isolate has seen.
 */
export class CatalogueCache {
  private readonly entries = new Map<
    number,
    { entry: Promise<CatalogueEntry | null>; until: number; known?: CatalogueEntry }
  >();
  readonly outage: CatalogueOutage = { readFailures: 0, servedStale: 0, answeredByObject: 0 };

  constructor(
    private readonly ttlMs = 5_000,
    private readonly now: () => number = () => Date.now(),
    /** Bounds the memory a scan of random ids can take; the oldest entries go first. */
    private readonly maxEntries = 10_000,
  ) {}

  /** The entry (null: no such product); throws when D1 fails and no entry was ever read here. */
  lookup(db: D1Database, productId: number): Promise<CatalogueEntry | null> {
    const cached = this.entries.get(productId);
    // A read another request started: awaited through a promise of this request's own.
    if (cached && cached.until > this.now()) return inOwnRequest(cached.entry);
    const known = cached?.known;
    const entry = readCatalogue(db, productId).then(
      (read) => {
        const current = this.entries.get(productId);
        if (current?.entry === entry && read) current.known = read;
        return read;
      },
      (error: unknown) => {
        this.outage.readFailures++;
        if (!known) {
          if (this.entries.get(productId)?.entry === entry) this.entries.delete(productId);
          throw error;
        }
        this.outage.servedStale++;
        logEvent(
          "Product catalogue unavailable, serving the entry read before.",
          { product_id: productId, error: String(error) },
          "warn",
        );
        return known;
      },
    );
    this.keep(productId, entry, known);
    return entry;
  }

  /** Record what this isolate just learnt (a product created or changed through it). */
  remember(productId: number, entry: CatalogueEntry | null): void {
    this.keep(productId, Promise.resolve(entry), entry ?? undefined);
  }

  /** An entry the product's object gave while D1 failed: served for `ttlMs`, then D1 again. */
  rememberFromObject(productId: number, entry: CatalogueEntry): void {
    this.outage.answeredByObject++;
    this.remember(productId, entry);
  }

  private keep(
    productId: number,
    entry: Promise<CatalogueEntry | null>,
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
