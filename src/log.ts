/**
 * One JSON line per event, so operators can grep `wrangler dev` output or `wrangler tail` for the
 * message and read the ids that go with it.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export type LogLevel = "info" | "warn" | "error";

export function logEvent(message: string, fields: LogFields = {}, level: LogLevel = "info"): void {
  const line = JSON.stringify({ level, message, ...fields, at: new Date().toISOString() });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
