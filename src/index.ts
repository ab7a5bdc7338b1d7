import { createApp } from "./app";

export { ProductObject } from "./product/product-object";

export default createApp();
