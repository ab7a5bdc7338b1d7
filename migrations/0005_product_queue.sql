-- The fair queue's settings, so a new product's object starts from them and PATCH keeps the
-- catalogue in step with the object.
ALTER TABLE products ADD COLUMN queue_enabled INTEGER NOT NULL DEFAULT 0 CHECK (queue_enabled IN (0, 1));
ALTER TABLE products ADD COLUMN queue_admit_per_second INTEGER NOT NULL DEFAULT 50
  CHECK (queue_admit_per_second BETWEEN 1 AND 10000);
ALTER TABLE products ADD COLUMN queue_admission_ttl_seconds INTEGER NOT NULL DEFAULT 60
  CHECK (queue_admission_ttl_seconds BETWEEN 10 AND 3600);
