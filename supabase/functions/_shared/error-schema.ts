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

/** A refusal in the one error shape, for a route's responses. */
export function errorResponse(description: string) {
  return { description, content: { "application/json": { schema: errorResponseSchema } } };
}
