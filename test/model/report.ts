/**
 * How many sequences to run and from which seed (FUZZ_RUNS, FUZZ_SEED, set by `npm run fuzz`),
 * and the report of a failure: the seed and path that replay it, and the shrunk sequence.
 */
import fc from "fast-check";
import { describeCommand, describeSetup, type Sequence } from "./commands";
import { EXAMPLES } from "./examples";

export interface FuzzSettings {
  runs: number;
  /** undefined: fast-check picks one (and the report prints it). */
  seed?: number;
  /** A counterexample's path: replay that one sequence only. */
  path?: string;
}

/** FUZZ_RUNS is a positive integer; FUZZ_SEED is "", a seed, or "seed:path" to replay one case. */
export function fuzzSettings(runs: string | undefined, seed: string | undefined): FuzzSettings {
  const count = Number(runs || "300");
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new Error(`FUZZ_RUNS must be a positive integer, got "${runs}"`);
  }
  const given = (seed ?? "").trim();
  if (given === "") return { runs: count };
  const match = /^(-?\d+)(?::(\d+(?::\d+)*))?$/.exec(given);
  if (!match) throw new Error(`FUZZ_SEED must be an integer seed, or seed:path, got "${seed}"`);
  return { runs: count, seed: Number(match[1]), ...(match[2] ? { path: match[2] } : {}) };
}

/** fast-check's parameters for these settings. */
export function checkParameters(settings: FuzzSettings): fc.Parameters<[Sequence]> {
  return {
    // The known sequences run first, then `runs` random ones (a path counts the known ones too).
    examples: EXAMPLES.map((sequence): [Sequence] => [sequence]),
    numRuns: EXAMPLES.length + settings.runs,
    ...(settings.seed === undefined ? {} : { seed: settings.seed }),
    // Replaying a path runs that very sequence; it is already as short as shrinking made it.
    ...(settings.path === undefined ? {} : { path: settings.path, endOnFailure: true }),
  };
}

/** A shrunk sequence, one numbered command a line. */
export function describeSequence(sequence: Sequence): string {
  return [
    describeSetup(sequence.setup),
    ...sequence.commands.map(
      (command, i) => `${String(i + 1).padStart(2)}. ${describeCommand(command)}`,
    ),
  ].join("\n");
}

/**
 * The error a failed check throws: where to replay it first (seed, path, the commands), then the
 * shrunk sequence, then the error of its run (which has the steps with their answers).
 */
export function failureError(details: fc.RunDetails<[Sequence]>, settings: FuzzSettings): Error {
  const { seed, counterexamplePath: path, numRuns, numShrinks } = details;
  const [sequence] = details.counterexample ?? [];
  const run = Number(path?.split(":")[0]);
  const known =
    run < EXAMPLES.length && numShrinks === 0
      ? ` It is known sequence ${run + 1} of test/model/examples.ts.`
      : "";
  const header = [
    `The product object disagreed with the reference model after ${numRuns} sequence(s) (shrunk ${numShrinks} time(s)).${known}`,
    `seed ${seed}, path ${path}`,
    `Replay this sequence:   npm run fuzz -- --seed ${seed} --path ${path}`,
    `                        (or FUZZ_SEED=${seed}:${path} npx vitest run --config test/vitest.config.ts test/model.test.ts)`,
    ...(settings.path === undefined
      ? [`Replay the whole run:   npm run fuzz -- --seed ${seed} --runs ${settings.runs}`]
      : []),
    "",
    "Shrunk sequence:",
    sequence ? describeSequence(sequence) : "(none)",
    `As data (for test/model/examples.ts): ${sequence ? fc.stringify(sequence) : "(none)"}`,
    "",
    "Its run:",
  ].join("\n");
  const cause = details.errorInstance;
  if (cause instanceof Error) {
    cause.message = `${header}\n${cause.message}`;
    return cause;
  }
  return new Error(`${header}\n${String(cause)}`);
}
