// @ts-check
// `npm run docs:links`: every relative link in README.md and docs/*.md points at a file that
// exists, and every `#anchor` at a heading of the page it names, so moving a page or renaming a
// heading cannot leave the docs pointing nowhere. Links to other sites are not fetched.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
/** The pages checked, relative to the repository. */
const PAGES = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/**
 * Markdown without fenced code blocks and inline code, where brackets are not links.
 * @param {string} text
 */
function prose(text) {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/**
 * GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
 * @param {string} heading
 */
function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, "")
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .replace(/\s/g, "-");
}

/** @type {Map<string, Set<string>>} */
const anchorCache = new Map();
/**
 * The anchors of a Markdown file's headings (a repeated heading gets `-1`, `-2`, …).
 * @param {string} file
 */
function anchors(file) {
  let found = anchorCache.get(file);
  if (!found) {
    found = new Set();
    /** @type {Map<string, number>} */
    const counts = new Map();
    const text = readFileSync(file, "utf8").replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
    for (const match of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
      const base = slug(match[1] ?? "");
      const n = counts.get(base) ?? 0;
      counts.set(base, n + 1);
      found.add(n === 0 ? base : `${base}-${n}`);
    }
    anchorCache.set(file, found);
  }
  return found;
}

/** @type {string[]} */
const problems = [];
for (const page of PAGES) {
  const file = join(root, page);
  for (const match of prose(readFileSync(file, "utf8")).matchAll(
    /!?\[[^\]]*\]\(([^)\s]+)[^)]*\)/g,
  )) {
    const target = match[1] ?? "";
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: and the like
    if (target.startsWith("/")) {
      problems.push(`${page}: ${target} is an absolute path; link relative to the page`);
      continue;
    }
    const [path = "", anchor] = target.split("#");
    const linked = path === "" ? file : join(dirname(file), decodeURIComponent(path));
    if (!existsSync(linked)) {
      problems.push(`${page}: ${target} points at ${relative(root, linked)}, which does not exist`);
    } else if (anchor && linked.endsWith(".md") && statSync(linked).isFile()) {
      if (!anchors(linked).has(anchor)) {
        problems.push(`${page}: ${target} names no heading of ${relative(root, linked)}`);
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`Broken links in the docs:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(`Links in ${PAGES.length} pages point at files and headings that exist.`);
