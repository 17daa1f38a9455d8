/** The one error shape (see errors.ts), for OpenAPI documents. */
import { z } from "@hono/zod-openapi";

export const errorResponseSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: "validation_failed" }),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    request_id: z.string(),
  }),
}).openapi("Error");
