-- Issue 16: a product's stock may be split over `shards` objects (1: one object, as before).
-- Set only through PATCH /api/admin/products/:id, while nothing is held or pending.
ALTER TABLE products ADD COLUMN shards INTEGER NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 256);
