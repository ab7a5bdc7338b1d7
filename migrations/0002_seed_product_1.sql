-- The product `npm start` sells out of the box. INSERT OR IGNORE keeps re-runs harmless; the
-- product's object copies initial_stock once, so restarting never resets a running sale.
INSERT OR IGNORE INTO products (id, name, price_cents, currency, initial_stock)
VALUES (1, 'Flash Sale Sneaker', 4999, 'USD', 10);
