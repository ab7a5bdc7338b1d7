// @ts-check
// `npm run docs:api`: write docs/api.md's endpoint and error tables from the committed OpenAPI
// document, so the docs list exactly the operations, callers, statuses and error codes the routes
// declare. `npm run docs:api:check` (`--check`) only compares, and fails when the tables are stale.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as prettier from "prettier";

/** The committed OpenAPI document, relative to the repository: the first one that exists wins. */
const OPENAPI_PATHS = ["src/contract/openapi.json", "test/typed-client/openapi.json"];
/** The page the tables live in, between their marker comments. */
const DOC_PATH = "docs/api.md";

const METHODS = ["get", "put", "post", "patch", "delete", "head", "options", "trace"];

/**
 * @typedef {{ $ref?: string, value?: { error?: { code?: string, message?: string } } }} Example
 * @typedef {{ examples?: Record<string, Example> }} MediaType
 * @typedef {{ $ref?: string, description?: string, content?: Record<string, MediaType> }} Response
 * @typedef {Record<string, string[]>} SecurityRequirement
 * @typedef {{
 *   operationId?: string,
 *   summary?: string,
 *   security?: SecurityRequirement[],
 *   responses?: Record<string, Response>,
 * }} Operation
 * @typedef {{ type: string, scheme?: string, bearerFormat?: string, name?: string, in?: string }} SecurityScheme
 * @typedef {{
 *   info?: { description?: string },
 *   security?: SecurityRequirement[],
 *   paths: Record<string, Record<string, Operation>>,
 *   components?: {
 *     responses?: Record<string, Response>,
 *     examples?: Record<string, Example>,
 *     securitySchemes?: Record<string, SecurityScheme>,
 *     schemas?: { Error?: { properties?: { error?: { properties?: { code?: { enum?: string[] } } } } } },
 *   },
 * }} OpenApiDocument
 * @typedef {{ label: string, summary: string, security: string, statuses: string[], codes: Map<string, string> }} Row
 */

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  console.error(message);
  process.exit(1);
}

/**
 * The component a local `$ref` points at (`#/components/responses/X`), or the item itself.
 * @template {{ $ref?: string }} T
 * @param {OpenApiDocument} doc
 * @param {T} item
 * @returns {T}
 */
function resolve(doc, item) {
  if (!item.$ref) return item;
  /** @type {unknown} */
  let node = doc;
  for (const part of item.$ref.replace(/^#\//, "").split("/")) {
    node =
      node && typeof node === "object"
        ? /** @type {Record<string, unknown>} */ (node)[part]
        : undefined;
  }
  if (!node) throw new Error(`Unresolved $ref ${item.$ref}`);
  return /** @type {T} */ (node);
}

/**
 * The error codes a response documents: the code of each of its examples.
 * @param {OpenApiDocument} doc
 * @param {Response} response
 * @returns {string[]}
 */
function errorCodes(doc, response) {
  const examples = resolve(doc, response).content?.["application/json"]?.examples ?? {};
  return Object.entries(examples).map(
    ([key, example]) => resolve(doc, example).value?.error?.code ?? key,
  );
}

/**
 * Who may call an operation, from its security requirements (any one of them suffices).
 * @param {SecurityRequirement[]} requirements
 */
function whoMayCall(requirements) {
  if (requirements.length === 0) return "anyone";
  const options = requirements.map((requirement) => {
    const names = Object.keys(requirement);
    return names.length === 0 ? "none" : names.map((name) => `\`${name}\``).join(" + ");
  });
  return options.length === 1
    ? (options[0] ?? "")
    : `${options.slice(0, -1).join(", ")} or ${options[options.length - 1] ?? ""}`;
}

/**
 * How a security scheme is presented, for the legend under the table.
 * @param {SecurityScheme} scheme
 */
function presented(scheme) {
  if (scheme.type === "http" && scheme.scheme === "bearer") {
    return `\`Authorization: Bearer …\`${scheme.bearerFormat ? ` (${scheme.bearerFormat})` : ""}`;
  }
  if (scheme.type === "apiKey") return `the \`${scheme.name ?? "?"}\` ${scheme.in ?? ""}`.trim();
  return scheme.type;
}

/** @param {string} text */
function cell(text) {
  return text.replace(/\|/g, "\\|").replace(/</g, "\\<").replace(/\n/g, " ");
}

/**
 * @param {string[]} header
 * @param {string[][]} rows
 */
function table(header, rows) {
  return [header, header.map(() => "---"), ...rows]
    .map((row) => `| ${row.map(cell).join(" | ")} |`)
    .join("\n");
}

/** @param {string[]} items */
function joined(items) {
  return items.length <= 1
    ? (items[0] ?? "")
    : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1] ?? ""}`;
}

/** @param {OpenApiDocument} doc */
function rowsOf(doc) {
  /** @type {Row[]} */
  const rows = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      /** @type {Map<string, string>} */
      const codes = new Map();
      const responses = op.responses ?? {};
      for (const [status, response] of Object.entries(responses)) {
        if (Number(status) >= 400)
          for (const code of errorCodes(doc, response)) codes.set(code, status);
      }
      rows.push({
        label: `${method.toUpperCase()} ${path}`,
        summary: op.summary ?? op.operationId ?? "",
        security: whoMayCall(op.security ?? doc.security ?? []),
        statuses: Object.keys(responses).sort((a, b) => Number(a) - Number(b)),
        codes,
      });
    }
  }
  return rows;
}

/**
 * The endpoint table, then what every operation can also answer and the legend of callers.
 * @param {OpenApiDocument} doc
 * @param {Row[]} rows
 */
function endpointSection(doc, rows) {
  const common = (rows[0]?.statuses ?? []).filter((status) =>
    rows.every((row) => row.statuses.includes(status)),
  );
  const body = table(
    ["Method", "Path", "What it does", "Who may call", "Answers"],
    rows.map((row) => {
      const [method = "", path = ""] = row.label.split(" ");
      return [
        method,
        `\`${path}\``,
        row.summary,
        row.security,
        row.statuses.filter((status) => !common.includes(status)).join(", "),
      ];
    }),
  );
  const first = rows[0];
  const commonCodes = common.map((status) => {
    const codes = first ? [...first.codes].filter(([, s]) => s === status).map(([c]) => c) : [];
    return `${status}${codes.length ? ` ${codes.map((code) => `\`${code}\``).join(", ")}` : ""}`;
  });
  const schemes = Object.entries(doc.components?.securitySchemes ?? {}).map(
    ([name, scheme]) => `- \`${name}\`: ${presented(scheme)}`,
  );
  return [
    body,
    common.length ? `Every operation can also answer ${joined(commonCodes)}.` : "",
    schemes.length
      ? `Who may call ("none": no credentials; "anyone": no security requirement):\n\n${schemes.join("\n")}`
      : "",
  ]
    .filter(Boolean)
    .join("\n\n");
}

/**
 * The error table: every code of the `Error` schema, its status, an example and who answers it.
 * @param {OpenApiDocument} doc
 * @param {Row[]} rows
 */
function errorSection(doc, rows) {
  const declared = doc.components?.schemas?.Error?.properties?.error?.properties?.code?.enum;
  const seen = rows.flatMap((row) => [...row.codes.keys()]);
  const codes = [...new Set([...(declared ?? []), ...seen])];
  const description = doc.info?.description ?? "";
  const body = table(
    ["Code", "Status", "Example message", "Answered by"],
    codes.map((code) => {
      const by = rows.filter((row) => row.codes.has(code));
      const statuses = [...new Set(by.map((row) => row.codes.get(code) ?? ""))];
      // A code no operation lists (an unknown path's 404) takes its status from the description.
      const described = new RegExp(`(\\d{3}) \`${code}\``).exec(description)?.[1];
      const example = resolve(doc, doc.components?.examples?.[code] ?? {}).value?.error?.message;
      const others = rows.filter((row) => !row.codes.has(code));
      let answeredBy = by.map((row) => `\`${row.label}\``).join(", ");
      if (by.length === 0) answeredBy = "no operation";
      else if (others.length === 0) answeredBy = "every operation";
      else if (others.length < by.length) {
        answeredBy = `every operation but ${others.map((row) => `\`${row.label}\``).join(", ")}`;
      }
      return [`\`${code}\``, statuses.join(", ") || described || "", example ?? "", answeredBy];
    }),
  );
  return body;
}

/**
 * Replace what lies between `<!-- name:start -->` and `<!-- name:end -->`.
 * @param {string} text
 * @param {string} name
 * @param {string} content
 */
function between(text, name, content) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) fail(`${DOC_PATH} has no ${start} … ${end} markers to write between.`);
  return `${text.slice(0, from + start.length)}\n\n${content}\n\n${text.slice(to)}`;
}

const source = OPENAPI_PATHS.find((path) => existsSync(`${root}${path}`));
if (!source) fail(`No OpenAPI document at ${OPENAPI_PATHS.join(" or ")}.`);
const docFile = `${root}${DOC_PATH}`;
if (!existsSync(docFile)) fail(`${DOC_PATH} does not exist.`);

/** @type {OpenApiDocument} */
const doc = JSON.parse(readFileSync(`${root}${source}`, "utf8"));
const rows = rowsOf(doc);
const current = readFileSync(docFile, "utf8");
let next = between(current, "endpoints", endpointSection(doc, rows));
next = between(next, "errors", errorSection(doc, rows));
const options = (await prettier.resolveConfig(docFile)) ?? {};
next = await prettier.format(next, { ...options, filepath: docFile });

if (process.argv.includes("--check")) {
  if (next !== current) {
    fail(`${DOC_PATH}'s endpoint table is out of date: run npm run docs:api (it reads ${source}).`);
  }
} else if (next !== current) {
  writeFileSync(docFile, next);
  console.log(`${DOC_PATH}: tables written from ${source}.`);
} else {
  console.log(`${DOC_PATH}: tables already match ${source}.`);
}
