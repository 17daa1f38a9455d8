/**
 * The import routes: preview (read, detect, stage, suggest), execute (set-based in
 * Postgres, idempotent) and the errors of an import as CSV.
 */
import type { Context } from "hono";
import type { AuthVariables, UserClaims } from "../_shared/auth.ts";
import type { Db } from "../_shared/db.ts";
import { AppError, ConflictError, ValidationError } from "../_shared/errors.ts";
import type { LogVariables } from "../_shared/log.ts";
import { requireMemberRole } from "../_shared/membership.ts";
import { detectDelimiter, detectEncoding, looksLikePhone, sniffBinary } from "./csv-detect.ts";
import { CsvProblem, parseCsvRows } from "./csv-parse.ts";
import { csvStream } from "./csv-stream.ts";
import { firstChunk, uploadText } from "./csv-text.ts";
import {
  commit,
  createImport,
  endExecution,
  findImport,
  finishStaging,
  IMPORTERS,
  type ImportMapping,
  reportProgress,
  resolveOrg,
  RowStager,
  sampleRows,
  startExecution,
  validate,
} from "./import-store.ts";
import { suggestMapping, validateMapping } from "./mapping.ts";
import { readUpload } from "./upload.ts";

type Ctx = Context<{ Variables: AuthVariables<UserClaims> & LogVariables }>;

/** Rows parsed at a time: small, so parsed rows die young (see RowStager). */
const PARSE_BATCH = 250;
const SAMPLE_ROWS = 20;

interface Issue {
  row: number | null;
  field: string | null;
  value: string | null;
  message: string;
}

/** Without a recognisable phone header: the column whose first values look like phones. */
function phoneColumnByContent(columns: readonly string[], rows: string[][]): string | undefined {
  let best: { column: string; hits: number } | undefined;
  columns.forEach((column, i) => {
    const values = rows.map((row) => row[i]).filter((v) => v !== "");
    const hits = values.filter(looksLikePhone).length;
    if (values.length > 0 && hits * 2 >= values.length && hits > (best?.hits ?? 0)) {
      best = { column, hits };
    }
  });
  return best?.column;
}

export async function previewImportHandler(c: Ctx, db: Db, maxBytes: number) {
  const query = c.req.valid("query" as never) as { org_id?: string; file_name?: string };
  const claims = c.get("claims");
  // Who may import is settled before the upload is read.
  const orgId = await db.asUser(claims, (tx) => resolveOrg(tx, query.org_id));
  const upload = await readUpload(c.req.raw, maxBytes, query.file_name ?? "upload.csv");
  if (upload.bytes.byteLength === 0) {
    throw new CsvProblem([{ kind: "empty", row: null, message: "the file is empty" }]);
  }
  const binary = sniffBinary(upload.bytes);
  if (binary) throw new ValidationError([{ path: "file", message: binary }], binary);
  const detected = detectEncoding(upload.bytes);
  const delimiter = detectDelimiter(firstChunk(uploadText(upload.bytes, detected)));

  const preview = await db.asUser(claims, async (tx) => {
    await requireMemberRole(tx, orgId, IMPORTERS);
    const batches = parseCsvRows(uploadText(upload.bytes, detected), {
      delimiter,
      batchSize: PARSE_BATCH,
    });
    let stager: RowStager | undefined;
    let firstRows: string[][] = [];
    let step = await batches.next();
    while (!step.done) {
      const batch = step.value;
      stager ??= new RowStager(
        tx,
        orgId,
        await createImport(tx, {
          orgId,
          fileName: upload.fileName,
          encoding: detected.encoding,
          delimiter,
          hasHeader: batch.hasHeader,
          columns: [...batch.columns],
        }),
      );
      if (firstRows.length === 0) firstRows = batch.rows.slice(0, SAMPLE_ROWS);
      await stager.add(batch);
      step = await batches.next();
    }
    await stager?.finish();
    const summary = step.value;
    if (!stager) {
      throw new CsvProblem([{
        kind: "header_only",
        row: null,
        message: "the file has no data rows",
      }]);
    }

    const suggestion = suggestMapping(summary.columns);
    const issues: Issue[] = [];
    if (!suggestion.mapping.phone) {
      const byContent = phoneColumnByContent(summary.columns, firstRows);
      if (!byContent) {
        throw new ValidationError(
          [{
            path: "file",
            message: `none of the columns (${summary.columns.join(", ")}) holds phone numbers`,
          }],
          "No column can be a phone number",
        );
      }
      suggestion.mapping.phone = byContent;
      suggestion.custom_fields = suggestion.custom_fields.filter((h) => h !== byContent);
      issues.push({
        row: null,
        field: "phone",
        value: byContent,
        message: `no column is named like a phone number; "${byContent}" holds phone numbers`,
      });
    }
    if (!summary.hasHeader) {
      issues.push({
        row: null,
        field: null,
        value: null,
        message: "no header row: the columns are named Column 1, Column 2…",
      });
    }
    if (detected.encoding === "windows-1252") {
      issues.push({
        row: null,
        field: null,
        value: null,
        message: "the file is not UTF-8: it was read as Windows-1252",
      });
    }
    const mapping: ImportMapping = {
      ...suggestion.mapping,
      custom_fields: Object.fromEntries(suggestion.custom_fields.map((h) => [h, h])),
    };
    const { importId, staged } = stager;
    await finishStaging(tx, importId, staged, mapping);
    const sample = await sampleRows(tx, importId, mapping, SAMPLE_ROWS);
    for (const row of sample) {
      for (const problem of row.problems) issues.push({ row: row.row, ...problem });
    }
    return {
      import_id: importId,
      row_count: staged,
      encoding: detected.encoding,
      delimiter,
      has_header: summary.hasHeader,
      columns: [...summary.columns],
      suggested_mapping: mapping,
      sample,
      issues,
    };
  });
  return c.json(preview, 201);
}

interface ExecuteBody {
  import_id: string;
  mapping?: ImportMapping;
  on_duplicate: "skip" | "update";
  tags: string[];
  all_or_nothing: boolean;
}

function resultBody(importId: string, outcome: Record<string, unknown>, already: boolean) {
  return {
    import_id: importId,
    committed: outcome.committed === true,
    already_executed: already,
    rows: Number(outcome.rows ?? 0),
    inserted: Number(outcome.inserted ?? 0),
    updated: Number(outcome.updated ?? 0),
    duplicates: Number(outcome.duplicates ?? 0),
    invalid: Number(outcome.invalid ?? 0),
    suppressed: Number(outcome.suppressed ?? 0),
    errors: (outcome.errors ?? []) as Issue[],
  };
}

export async function executeImportHandler(c: Ctx, db: Db) {
  const body = c.req.valid("json" as never) as ExecuteBody;
  const claims = c.get("claims");
  const started = await db.asUser(claims, async (tx) => {
    const imp = await findImport(tx, body.import_id);
    await requireMemberRole(tx, imp.org_id, IMPORTERS);
    if (imp.status === "completed") return { kind: "done" as const, imp };
    if (imp.status === "executing") {
      throw new ConflictError(
        `import ${imp.id} is running: its result is announced on the channel org:${imp.org_id}`,
      );
    }
    const mapping = body.mapping ?? imp.mapping ?? {};
    const { custom_fields: custom = {}, ...fields } = mapping;
    const problems = validateMapping(fields, imp.columns);
    for (const [key, header] of Object.entries(custom)) {
      if (!imp.columns.includes(header)) {
        problems.push({
          path: `mapping.custom_fields.${key}`,
          message: `the file has no column "${header}"`,
        });
      }
    }
    if (problems.length > 0) throw new ValidationError(problems, "The mapping cannot be used");
    if (!(await startExecution(tx, imp.id))) {
      throw new ConflictError(`import ${imp.id} cannot be executed now`);
    }
    return { kind: "started" as const, mapping };
  });
  if (started.kind === "done") {
    return c.json(
      resultBody(started.imp.id, started.imp.result as Record<string, unknown>, true),
      200,
    );
  }

  let outcome: Record<string, unknown>;
  try {
    const options = {
      mapping: started.mapping,
      onDuplicate: body.on_duplicate,
      tags: body.tags,
      allOrNothing: body.all_or_nothing,
    };
    // One transaction, two phases; between them the validated counts are committed on
    // another connection, so the frontend sees progress on the import row.
    outcome = await db.asUser(claims, async (tx) => {
      const counts = await validate(tx, body.import_id, options);
      await db.asUser(claims, (side) => reportProgress(side, body.import_id, counts));
      return await commit(tx, body.import_id, options);
    });
  } catch (error) {
    // A mistake in the request leaves the import staged for another try; anything else
    // marks it failed (announced), and nothing of it is committed either way.
    const requestMistake = error instanceof AppError ||
      (typeof (error as { code?: unknown }).code === "string" &&
        /^(22|23|42501|PT404)/.test((error as { code: string }).code));
    await db.asUser(claims, (tx) =>
      endExecution(
        tx,
        body.import_id,
        requestMistake ? "staged" : "failed",
        requestMistake ? null : "the import failed; nothing was committed",
      )).catch((cleanup) =>
        c.get("log").error("could not end a failed import", { error: cleanup })
      );
    throw error;
  }
  if (outcome.committed !== true) {
    const errors = (outcome.errors ?? []) as Issue[];
    throw new ValidationError(
      errors.map((e) => ({
        path: `row ${e.row}.${e.field}`,
        message: `${e.message} (${e.value ?? ""})`,
      })),
      `${outcome.invalid} of ${outcome.rows} rows are invalid: nothing was imported (all_or_nothing)`,
    );
  }
  return c.json(resultBody(body.import_id, outcome, false), 200);
}

const ERROR_COLUMNS = ["row", "field", "value", "message"] as const;

/** The errors of an import as CSV; the import is looked up (and the role checked) first. */
export async function errorsCsvStream(db: Db, claims: UserClaims, importId: string) {
  await db.asUser(claims, async (tx) => {
    const imp = await findImport(tx, importId);
    await requireMemberRole(tx, imp.org_id, IMPORTERS);
  });
  return csvStream(db, claims, ERROR_COLUMNS, (tx) =>
    tx`
      select row_number as row, field, value, message from public.lead_import_errors
      where import_id = ${importId} order by row_number, field`);
}
