// `npm run fuzz -- --runs N [--seed S] [--path P]`: the model-based test (test/model.test.ts)
// for as many random sequences as asked, inside workerd like `npm test`. Without --seed a seed
// is picked and printed first, so a long run can be replayed even if it is stopped; a failure
// prints the seed and path that replay its shrunk sequence (`--seed S --path P`).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));

const USAGE = `usage: npm run fuzz -- [--runs N] [--seed S] [--path P]
  --runs N   random sequences to run (default 1000)
  --seed S   fast-check seed (default: a new one, printed)
  --path P   with --seed: replay the one sequence a failure reported`;

function parse(argv) {
  const options = { runs: "1000", seed: undefined, path: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    if (flag === "--help" || flag === "-h") return { help: true };
    const name = flag.replace(/^--/, "");
    if (!["runs", "seed", "path"].includes(name) || !flag.startsWith("--")) {
      throw new Error(`unknown argument ${argv[i]}`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    options[name] = value;
  }
  if (!/^[1-9]\d*$/.test(options.runs)) throw new Error(`--runs must be a positive integer`);
  if (options.seed !== undefined && !/^-?\d+$/.test(options.seed)) {
    throw new Error(`--seed must be an integer`);
  }
  if (options.path !== undefined) {
    if (options.seed === undefined) throw new Error(`--path needs the --seed it came with`);
    if (!/^\d+(:\d+)*$/.test(options.path)) throw new Error(`--path looks like 12:0:3`);
  }
  return options;
}

let options;
try {
  options = parse(process.argv.slice(2));
} catch (error) {
  console.error(`${error.message}\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

// fast-check's seeds are 32-bit integers.
const seed = options.seed ?? String((Math.random() * 2 ** 32) | 0);
const fuzzSeed = options.path ? `${seed}:${options.path}` : seed;
console.log(
  options.path
    ? `fuzz: replaying seed ${seed}, path ${options.path}`
    : `fuzz: ${options.runs} sequence(s), seed ${seed}`,
);

const child = spawn(
  process.execPath,
  [vitest, "run", "--config", "test/vitest.config.ts", "test/model.test.ts"],
  {
    cwd: root,
    env: { ...process.env, FUZZ_RUNS: options.runs, FUZZ_SEED: fuzzSeed },
    stdio: "inherit",
  },
);
const stop = () => child.kill("SIGINT");
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
