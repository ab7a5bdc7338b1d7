import { describe, expect, it } from "vitest";
import { GroupCommit } from "../src/product/group-commit";

/** A storage whose commits finish only when the test says so. */
function storageWithManualCommits() {
  const pending: (() => void)[] = [];
  const storage = {
    sync: () => new Promise<void>((resolve) => pending.push(resolve)),
  } as unknown as DurableObjectStorage;
  return {
    storage,
    commitsInFlight: () => pending.length,
    finishCommit: async () => {
      pending.shift()!();
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

describe("GroupCommit", () => {
  it("runs a write at once when no commit is in flight", async () => {
    const { storage, commitsInFlight } = storageWithManualCommits();
    const writes = new GroupCommit(storage);
    const ran: number[] = [];
    const answer = writes.run(() => (ran.push(1), "first"));
    expect(ran).toEqual([1]);
    expect(await answer).toBe("first");
    expect(commitsInFlight()).toBe(1);
  });

  it("holds writes that arrive during a commit, then runs them together, in order, sharing the next commit", async () => {
    const { storage, commitsInFlight, finishCommit } = storageWithManualCommits();
    const writes = new GroupCommit(storage);
    const ran: string[] = [];
    const first = writes.run(() => ran.push("a"));
    const later = ["b", "c", "d"].map((name) => writes.run(() => (ran.push(name), name)));
    expect(ran).toEqual(["a"]);

    await finishCommit();
    expect(ran).toEqual(["a", "b", "c", "d"]);
    expect(await Promise.all(later)).toEqual(["b", "c", "d"]);
    expect(commitsInFlight()).toBe(1); // one commit for b, c and d together
    await first;

    await finishCommit();
    expect(commitsInFlight()).toBe(0);
    void writes.run(() => ran.push("e"));
    expect(ran.at(-1)).toBe("e"); // idle again: runs at once
  });

  it("a write that throws fails alone; the others in its group still run", async () => {
    const { storage, finishCommit } = storageWithManualCommits();
    const writes = new GroupCommit(storage);
    await writes.run(() => "first");
    const bad = writes
      .run(() => {
        throw new Error("CHECK constraint failed");
      })
      .catch((error: Error) => error.message);
    const good = writes.run(() => "fine");
    await finishCommit();
    expect(await bad).toBe("CHECK constraint failed");
    expect(await good).toBe("fine");
  });
});
