/**
 * A keyed pseudo-random permutation of 0..size-1, computed one number at a time: the pre-queue's
 * order at the sale's start. Nothing is stored per ticket; the key and the size are enough for
 * the object and every Worker to agree on each ticket's place. A four-round Feistel network over
 * the smallest power-of-four domain that holds `size`, walked until it lands inside (the usual
 * cycle-walking construction for format-preserving permutations).
 */
function mix(value: number, key: number, round: number): number {
  let h = Math.imul(value ^ key, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}

export function permute(index: number, size: number, key: number): number {
  if (size <= 1) return index;
  let halfBits = 1;
  while (4 ** halfBits < size) halfBits++;
  const mask = (1 << halfBits) - 1;
  let value = index;
  do {
    let left = value >>> halfBits;
    let right = value & mask;
    for (let round = 0; round < 4; round++) {
      const next = left ^ (mix(right, key, round) & mask);
      left = right;
      right = next;
    }
    value = left * (mask + 1) + right;
  } while (value >= size);
  return value;
}
