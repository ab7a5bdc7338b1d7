import { createApp } from "./app";

export { ProductObject } from "./product/product-object";
export { LiveRelay } from "./live/relay";

export default createApp();
