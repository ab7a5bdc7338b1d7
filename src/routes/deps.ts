import type { CatalogueCache } from "../catalogue/catalogue";
import type { SoldOutMemory } from "../catalogue/sold-out";
import type { FrontierCache } from "../queue/frontier-cache";
import type { Products } from "../reach/product";

/** What every route module is built with: the one way to reach a product, and what it shares. */
export interface RouteDeps {
  products: Products;
  soldOut: SoldOutMemory;
  catalogue: CatalogueCache;
  frontiers: FrontierCache;
}
