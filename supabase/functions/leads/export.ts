/**
 * GET /leads/export: the organization's leads as CSV, filtered like the table, streamed.
 */
import { Constants } from "../_shared/database.ts";
import type { Claims, Db } from "../_shared/db.ts";
import { ValidationError } from "../_shared/errors.ts";
import { csvStream } from "./csv-stream.ts";
import { resolveOrg } from "./import-store.ts";

export const EXPORT_COLUMNS = [
  "id",
  "phone",
  "first_name",
  "last_name",
  "email",
  "address",
  "city",
  "state",
  "zip",
  "time_zone",
  "tags",
  "status",
  "suppressed",
  "notes",
  "custom_fields",
  "consent_source",
  "consent_captured_at",
  "import_id",
  "created_at",
  "updated_at",
] as const;

export interface ExportFilters {
  org_id?: string;
  status?: string;
  tags?: string;
  state?: string;
  import_id?: string;
}

function list(value: string | undefined): string[] {
  return (value ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "");
}

/** The filters checked, with a 422 naming each bad value. */
export function parseFilters(query: ExportFilters) {
  const statuses = list(query.status);
  const known = new Set<string>(Constants.public.Enums.lead_status);
  const details = statuses.filter((s) => !known.has(s)).map((s) => ({
    path: "status",
    message: `"${s}" is not a lead status (${[...known].join(", ")})`,
  }));
  const states = list(query.state).map((s) => s.toUpperCase());
  for (const s of states) {
    if (!/^[A-Z]{2}$/.test(s)) {
      details.push({ path: "state", message: `"${s}" is not a USPS code` });
    }
  }
  const tags = list(query.tags).map((t) => t.toLowerCase());
  if (details.length > 0) throw new ValidationError(details, "Invalid export filters");
  return {
    statuses,
    states: states.map((s) => s.toUpperCase()),
    tags,
    importId: query.import_id,
  };
}

/** A CSV stream of the leads; the organization is resolved (and checked) before it starts. */
export async function exportStream(
  db: Db,
  claims: Claims,
  query: ExportFilters,
): Promise<ReadableStream<Uint8Array>> {
  const filters = parseFilters(query);
  // Checked up front, so a refusal is a proper 4xx rather than a broken stream.
  const orgId = await db.asUser(claims, (tx) => resolveOrg(tx, query.org_id));
  return csvStream(db, claims, EXPORT_COLUMNS, (tx) =>
    tx`
      select ${tx(EXPORT_COLUMNS as unknown as string[])} from public.leads
      where org_id = ${orgId}
        and (${filters.statuses.length === 0} or status = any(${filters.statuses}::text[]))
        and (${filters.states.length === 0} or state = any(${filters.states}::text[]))
        and (${filters.tags.length === 0} or tags @> ${filters.tags}::text[])
        and (${filters.importId ?? null}::uuid is null or import_id = ${filters.importId ?? null})
      order by created_at, id`);
}
