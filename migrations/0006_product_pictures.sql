-- What the storefront shows of a product beside its name: a picture (an https URL or a path on
-- the storefront's origin) and a short description. The product's object copies them when it
-- first opens; PATCH /api/admin/products/:id keeps the catalogue in step.
ALTER TABLE products ADD COLUMN image_url TEXT;
ALTER TABLE products ADD COLUMN description TEXT;

-- The seed product gets the picture bundled with the storefront (public/images/sneaker.svg).
UPDATE products
SET image_url = '/images/sneaker.svg',
    description = 'A light everyday sneaker in off-white canvas with a gum sole. Limited drop: at most two pairs per shopper.'
WHERE id = 1 AND image_url IS NULL AND description IS NULL;
