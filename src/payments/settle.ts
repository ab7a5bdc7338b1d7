import type { Context } from "hono";
import type { SoldOutMemory } from "../catalogue/sold-out";
import { ownerOfOrder } from "../contract/ids";
import type { WebhookAnswerView } from "../contract/shapes";
import type { AppEnv } from "../http/context";
import { HttpError } from "../http/error-answer";
import type { PaymentNotice } from "../product/payments";
import type { Products } from "../reach/product";

/**
 * Apply a payment notice, from whichever gateway, through the one exactly-once path: the order's
 * product object settles it against the notice's idempotency key.
 */
export async function settle(
  c: Context<AppEnv>,
  { products, soldOut }: { products: Products; soldOut: SoldOutMemory },
  notice: PaymentNotice,
): Promise<WebhookAnswerView> {
  const owner = ownerOfOrder(notice.orderId);
  if (owner === null) throw new HttpError("order_not_found", `No order ${notice.orderId}.`);
  const { productId, shard } = owner;
  const { answer, freed } = await products.call(c, {
    productId,
    shard,
    method: "settlePayment",
    input: { notice },
    unknown: "order_not_found",
    fields: { order_id: notice.orderId, idempotency_key: notice.idempotencyKey },
  });
  // A failed payment frees its units: this isolate must not keep calling the product sold out.
  if (freed > 0) soldOut.forget(productId);
  return answer;
}
