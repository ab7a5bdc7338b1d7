// Laravel's DB::transaction($callback, attempts: 5): BEGIN, run the work, COMMIT; on a deadlock or
// serialization failure roll back and run it again, here with a short exponential backoff.
import { setTimeout as sleep } from "node:timers/promises";

const RETRYABLE = new Set(["40P01", "40001"]); // deadlock_detected, serialization_failure

/** A refusal decided inside the transaction (rolled back, answered with `status`). */
export class Refusal extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * @template T
 * @param {import("pg").Pool} pool
 * @param {(client: import("pg").PoolClient) => Promise<T>} work
 * @param {number} [attempts]
 * @returns {Promise<T>}
 */
export async function transaction(pool, work, attempts = 5) {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      if (!RETRYABLE.has(error?.code) || attempt >= attempts) throw error;
    } finally {
      client.release();
    }
    // Only a retryable failure gets here: success returned and anything else threw.
    await sleep(Math.random() * 5 * 2 ** attempt);
  }
}
