/**
 * The import's database side, always inside the caller's own transaction (RLS decides):
 * which organization, the import row, staged rows in bounded batches, the sample as it
 * would be stored, and execution (set-based, in Postgres).
 */
import type { Json } from "../_shared/database.ts";
import type { Tx } from "../_shared/db.ts";
import { ForbiddenError, NotFoundError, ValidationError } from "../_shared/errors.ts";
import { type MemberRole, requireMemberRole } from "../_shared/membership.ts";

/** Who may import and export. */
export const IMPORTERS: readonly MemberRole[] = ["admin", "campaign_manager"];

export interface ImportMapping {
  [field: string]: string | null | undefined | Record<string, string>;
  custom_fields?: Record<string, string>;
}

export interface ImportRow {
  id: string;
  org_id: string;
  status: string;
  file_name: string;
  row_count: number;
  columns: string[];
  mapping: ImportMapping | null;
  result: Json | null;
}

/**
 * The organization to act for: the one asked for (where the caller must be an importer),
 * or the only one the caller imports for.
 */
export async function resolveOrg(tx: Tx, requested: string | undefined): Promise<string> {
  if (requested) {
    await requireMemberRole(tx, requested, IMPORTERS);
    return requested;
  }
  const orgs = await tx<{ org_id: string }[]>`
    select m.org_id from public.memberships m
    where m.user_id = (select auth.uid()) and m.role = any(${IMPORTERS as MemberRole[]})`;
  if (orgs.length === 1) return orgs[0].org_id;
  if (orgs.length === 0) {
    throw new ForbiddenError(
      "importing and exporting leads needs the admin or campaign_manager role",
    );
  }
  throw new ValidationError(
    [{ path: "org_id", message: "you import for several organizations: say which" }],
    "org_id is required",
  );
}

export async function createImport(tx: Tx, values: {
  orgId: string;
  fileName: string;
  encoding: string;
  delimiter: string;
  hasHeader: boolean;
  columns: string[];
}): Promise<string> {
  const [row] = await tx<{ id: string }[]>`
    insert into public.lead_imports (org_id, file_name, encoding, delimiter, has_header, columns)
    values (${values.orgId}, ${values.fileName}, ${values.encoding}, ${values.delimiter},
            ${values.hasHeader}, ${values.columns})
    returning id`;
  return row.id;
}

/** Rows per staging statement. */
const STATEMENT_ROWS = 2000;

/**
 * Staging rows in bounded statements: each small batch of parsed rows becomes JSON text
 * at once (so the rows die young), and every `STATEMENT_ROWS` rows are sent as one
 * statement, `[[row number, [cells…]], …]`, written while the next rows are parsed;
 * never more than one statement in flight.
 */
export class RowStager {
  readonly #tx: Tx;
  readonly #orgId: string;
  readonly importId: string;
  #pieces: string[] = [];
  #pending = 0;
  #writing: Promise<void> = Promise.resolve();
  /** Rows added so far. */
  staged = 0;

  constructor(tx: Tx, orgId: string, importId: string) {
    this.#tx = tx;
    this.#orgId = orgId;
    this.importId = importId;
  }

  async add(batch: { rows: readonly string[][]; rowNumbers: readonly number[] }): Promise<void> {
    if (batch.rows.length === 0) return;
    this.#pieces.push(
      batch.rows.map((cells, i) => JSON.stringify([batch.rowNumbers[i], cells])).join(","),
    );
    this.#pending += batch.rows.length;
    this.staged += batch.rows.length;
    if (this.#pending >= STATEMENT_ROWS) await this.#send();
  }

  /** Sends what is left and waits for every statement. */
  async finish(): Promise<void> {
    await this.#send();
    await this.#writing;
  }

  async #send(): Promise<void> {
    if (this.#pieces.length === 0) return;
    const rows = `[${this.#pieces.join(",")}]`;
    this.#pieces = [];
    this.#pending = 0;
    await this.#writing;
    const insert = this.#tx`
      insert into public.lead_import_rows (org_id, import_id, row_number, cells)
      select ${this.#orgId}, ${this.importId}, (r ->> 0)::integer, r -> 1
      from jsonb_array_elements(${rows}::text::jsonb) r`;
    // postgres.js starts a query when it is awaited: start it now, settle it later. A
    // failure is handled here (never unhandled) and thrown by the next add or finish.
    this.#writing = (async () => {
      await insert;
    })();
    this.#writing.catch(() => {});
  }
}

export async function finishStaging(
  tx: Tx,
  importId: string,
  rowCount: number,
  mapping: ImportMapping,
): Promise<void> {
  await tx`
    update public.lead_imports
    set row_count = ${rowCount}, processed_rows = 0, mapping = ${tx.json(mapping as Json)}
    where id = ${importId}`;
}

export interface SampleRow {
  row: number;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  address: string | null;
  city: string | null;
  state: string | null;
  zip: string | null;
  tags: string[];
  consent_source: string | null;
  consent_at: string | null;
  custom_fields: Record<string, string>;
  problems: { field: string; value: string | null; message: string }[];
}

/** The first rows as they would be stored, with their problems. */
export async function sampleRows(
  tx: Tx,
  importId: string,
  mapping: ImportMapping,
  limit: number,
): Promise<SampleRow[]> {
  const rows = await tx<(Omit<SampleRow, "row" | "consent_at"> & {
    row_number: number;
    consent_at: Date | null;
  })[]>`
    select row_number, phone, first_name, last_name, email, address, city, state, zip, tags,
           consent_source, consent_at, custom_fields, problems
    from private.mapped_import_rows(${importId}, ${tx.json(mapping as Json)}, '{}', ${limit})`;
  return rows.map(({ row_number, consent_at, ...rest }) => ({
    row: row_number,
    ...rest,
    consent_at: consent_at ? consent_at.toISOString() : null,
  }));
}

export async function findImport(tx: Tx, importId: string): Promise<ImportRow> {
  const [row] = await tx<ImportRow[]>`
    select id, org_id, status, file_name, row_count, columns, mapping, result
    from public.lead_imports where id = ${importId}`;
  if (!row) throw new NotFoundError(`no import ${importId} in your organizations`);
  return row;
}

/** Moves a staged (or failed) import to executing; false when it is not in such a state. */
export async function startExecution(tx: Tx, importId: string): Promise<boolean> {
  const rows = await tx`
    update public.lead_imports set status = 'executing', started_at = now(), error = null
    where id = ${importId} and status in ('staged', 'failed')
    returning id`;
  return rows.length === 1;
}

export interface ExecuteOptions {
  mapping: ImportMapping;
  onDuplicate: "skip" | "update";
  tags: string[];
  allOrNothing: boolean;
}

/** Phase 1, in the execution's transaction: rows mapped and checked; counts. */
export async function validate(
  tx: Tx,
  importId: string,
  options: ExecuteOptions,
): Promise<{ rows: number; invalid: number }> {
  const [row] = await tx<{ counts: { rows: number; invalid: number } }[]>`
    select private.validate_lead_import(${importId}, ${tx.json(options.mapping as Json)},
      ${options.tags}::text[]) as counts`;
  return row.counts;
}

/** Phase 2, same transaction: deduplicate, skip or update, insert, record, announce. */
export async function commit(
  tx: Tx,
  importId: string,
  options: ExecuteOptions,
): Promise<Record<string, unknown>> {
  const [row] = await tx<{ outcome: Record<string, unknown> }[]>`
    select private.commit_lead_import(${importId}, ${tx.json(options.mapping as Json)},
      ${options.onDuplicate}, ${options.tags}::text[], ${options.allOrNothing}) as outcome`;
  return row.outcome;
}

/**
 * Progress, committed apart from the running execution (which only writes the import row
 * at its end): what the frontend sees while a large file executes.
 */
export async function reportProgress(
  tx: Tx,
  importId: string,
  counts: { rows: number; invalid: number },
): Promise<void> {
  await tx`
    update public.lead_imports set processed_rows = ${counts.rows}, invalid = ${counts.invalid}
    where id = ${importId} and status = 'executing'`;
}

/** After a failed execution: back to staged for a mistake in the request, else failed. */
export async function endExecution(
  tx: Tx,
  importId: string,
  status: "staged" | "failed",
  error: string | null,
): Promise<void> {
  await tx`
    update public.lead_imports set status = ${status}, error = ${error}
    where id = ${importId} and status = 'executing'`;
  if (status === "failed") {
    await tx`
      select private.broadcast_to_org(i.org_id, 'lead_import.failed',
        jsonb_build_object('import_id', i.id, 'status', 'failed', 'error', ${error}::text))
      from public.lead_imports i where i.id = ${importId}`;
  }
}
