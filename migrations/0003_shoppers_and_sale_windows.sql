-- Sale windows and per-shopper limits in the catalogue (a new product's object starts from
-- them; PATCH /api/admin/products/:id keeps them in step with the object), and the shopper of
-- each order in the history.
ALTER TABLE products ADD COLUMN sale_starts_at TEXT;
ALTER TABLE products ADD COLUMN sale_ends_at TEXT;
ALTER TABLE products ADD COLUMN max_units_per_shopper INTEGER
  CHECK (max_units_per_shopper IS NULL OR max_units_per_shopper >= 1);
ALTER TABLE orders ADD COLUMN shopper_id TEXT;
