/**
 * One JSON line per event, so operators can grep `wrangler dev` output or `wrangler tail` for the
 * message and read the ids that go with it.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export function logEvent(
  message: string,
  fields: LogFields = {},
  level: "info" | "warn" | "error" = "info",
): void {
  const line = JSON.stringify({ level, message, ...fields, at: new Date().toISOString() });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
