/** Contracts of the `leads` function: CSV import (preview, execute, errors) and export. */
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponseSchema } from "../_shared/error-schema.ts";
import { LEAD_FIELDS } from "./mapping.ts";

const uuid = z.uuid({ error: "must be a UUID" });

/** A column name as a file may have it (a header cell is at most 10,000 characters). */
const columnName = z.string().min(1).max(10_000);

const orgQuery = z.object({
  org_id: uuid.optional().openapi({
    description: "The organization; optional when you import for exactly one.",
  }),
});

const mappingSchema = z.object({
  ...Object.fromEntries(
    LEAD_FIELDS.map((field) => [field, columnName.nullable().optional()]),
  ) as Record<(typeof LEAD_FIELDS)[number], z.ZodOptional<z.ZodNullable<z.ZodString>>>,
  // Keys default to the column names themselves, so they are as free as those.
  custom_fields: z.record(columnName, columnName).optional(),
}).strict().openapi("ImportMapping", {
  description: "Our field → the file's column name; custom_fields: key → column name.",
});

const issueSchema = z.object({
  row: z.number().int().nullable(),
  field: z.string().nullable(),
  value: z.string().nullable(),
  message: z.string(),
}).openapi("ImportIssue");

const sampleRowSchema = z.object({
  row: z.number().int(),
  phone: z.string().nullable(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  email: z.string().nullable(),
  address: z.string().nullable(),
  city: z.string().nullable(),
  state: z.string().nullable(),
  zip: z.string().nullable(),
  tags: z.array(z.string()),
  consent_source: z.string().nullable(),
  consent_at: z.string().nullable(),
  custom_fields: z.record(z.string(), z.string()),
  problems: z.array(
    z.object({ field: z.string(), value: z.string().nullable(), message: z.string() }),
  ),
}).openapi("ImportSampleRow");

export const previewSchema = z.object({
  import_id: uuid,
  row_count: z.number().int(),
  encoding: z.string(),
  delimiter: z.string(),
  has_header: z.boolean(),
  columns: z.array(z.string()),
  suggested_mapping: mappingSchema,
  sample: z.array(sampleRowSchema),
  issues: z.array(issueSchema),
}).openapi("ImportPreview");

export const executeBodySchema = z.object({
  import_id: uuid,
  mapping: mappingSchema.optional(),
  on_duplicate: z.enum(["skip", "update"]).default("skip"),
  tags: z.array(z.string().trim().min(1).max(64)).max(20).default([]),
  all_or_nothing: z.boolean().default(false),
}).strict().openapi("ImportExecuteRequest");

export const executeResultSchema = z.object({
  import_id: uuid,
  committed: z.boolean(),
  already_executed: z.boolean(),
  rows: z.number().int(),
  inserted: z.number().int(),
  updated: z.number().int(),
  duplicates: z.number().int(),
  invalid: z.number().int(),
  suppressed: z.number().int(),
  errors: z.array(issueSchema),
}).openapi("ImportResult");

const errorResponses = {
  401: {
    description: "No or bad token",
    content: { "application/json": { schema: errorResponseSchema } },
  },
  403: {
    description: "Not an admin or campaign manager of the organization",
    content: { "application/json": { schema: errorResponseSchema } },
  },
  422: {
    description: "The input is not acceptable; details say what and where",
    content: { "application/json": { schema: errorResponseSchema } },
  },
} as const;

export const previewImport = createRoute({
  method: "post",
  path: "/import/preview",
  summary: "Upload a CSV: detect its format, stage its rows, suggest a mapping",
  request: {
    query: orgQuery.extend({
      file_name: z.string().min(1).max(255).optional().openapi({
        description: "Name to record for a text/csv upload (multipart carries its own).",
      }),
    }),
    body: {
      required: true,
      content: {
        // Plain OpenAPI schemas: the body is read by the handler, streamed and size-limited.
        "text/csv": { schema: { type: "string" } },
        "multipart/form-data": {
          schema: {
            type: "object",
            properties: { file: { type: "string", format: "binary" } },
            required: ["file"],
          },
        },
      },
    },
  },
  responses: {
    201: { description: "Staged", content: { "application/json": { schema: previewSchema } } },
    ...errorResponses,
    413: {
      description: "Larger than MAX_UPLOAD_SIZE",
      content: { "application/json": { schema: errorResponseSchema } },
    },
    415: {
      description: "Not CSV",
      content: { "application/json": { schema: errorResponseSchema } },
    },
  },
});

export const executeImport = createRoute({
  method: "post",
  path: "/import/execute",
  summary: "Validate, deduplicate and commit a staged import",
  request: {
    body: { required: true, content: { "application/json": { schema: executeBodySchema } } },
  },
  responses: {
    200: {
      description: "Committed (or already was)",
      content: { "application/json": { schema: executeResultSchema } },
    },
    ...errorResponses,
    404: {
      description: "No such import",
      content: { "application/json": { schema: errorResponseSchema } },
    },
    409: {
      description: "The import is running",
      content: { "application/json": { schema: errorResponseSchema } },
    },
  },
});

export const importErrors = createRoute({
  method: "get",
  path: "/import/{import_id}/errors",
  summary: "Every row an import did not commit, and why, as CSV",
  request: { params: z.object({ import_id: uuid }) },
  responses: {
    200: {
      description: "row,field,value,message",
      content: { "text/csv": { schema: { type: "string" } } },
    },
    ...errorResponses,
    404: {
      description: "No such import",
      content: { "application/json": { schema: errorResponseSchema } },
    },
  },
});

const listParam = (description: string) =>
  z.string().max(2000).optional().openapi({ description: `${description}, comma-separated` });

export const exportQuerySchema = orgQuery.extend({
  status: listParam("Lead statuses"),
  tags: listParam("Tags a lead must all have"),
  state: listParam("USPS state codes"),
  import_id: uuid.optional(),
});

export const exportLeads = createRoute({
  method: "get",
  path: "/export",
  summary: "The organization's leads as CSV, filtered like the table",
  request: { query: exportQuerySchema },
  responses: {
    200: { description: "Streamed CSV", content: { "text/csv": { schema: { type: "string" } } } },
    ...errorResponses,
  },
});

export const leadsRoutes = [previewImport, executeImport, importErrors, exportLeads] as const;
export const LEADS_DOC = {
  title: "leads",
  description: "CSV imports (preview, execute, errors) and exports of an organization's leads, " +
    "for a signed-in member (Authorization: Bearer <Supabase access token>).",
};
