/**
 * The campaign tick's request: `{}` from cron (the whole budget), `{"budget_ms": 5000}`
 * from the database webhook a reply fires (a short tick that sends it right away).
 */
import { z } from "zod";
import { ValidationError } from "../_shared/errors.ts";
import { readJsonBody } from "../_shared/json-limits.ts";

export const tickBody = z.object({
  /** How long the tick may send (ms); TICK_BUDGET_MS caps it. */
  budget_ms: z.number().int().min(1_000).max(140_000).default(140_000),
});

export async function tickRequest(req: Request): Promise<z.infer<typeof tickBody>> {
  const json = await readJsonBody(req, { maxBytes: 4 * 1024, maxDepth: 4, maxString: 200 }, {});
  const parsed = tickBody.safeParse(json);
  if (!parsed.success) throw new ValidationError(parsed.error, "invalid tick request");
  return parsed.data;
}
