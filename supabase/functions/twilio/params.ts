/**
 * The webhook parameters we read (Twilio sends many more; unknown ones are ignored), as
 * zod schemas: a signed request without them is answered 400, saying which.
 */
import { z } from "zod";

const messageSid = z.string().regex(/^(SM|MM)[0-9a-f]{32}$/, {
  error: "must be SM or MM followed by 32 lowercase hex digits",
});
const phone = z.string().min(1, { error: "required" }).max(40, { error: "too long" });

export const inboundParams = z.object({
  MessageSid: messageSid,
  From: phone,
  To: phone,
  Body: z.string().max(1600, { error: "at most 1600 characters" }).default(""),
});

/** Twilio's statuses; `read` (WhatsApp) and others are accepted and ignored by the SQL. */
export const statusParams = z.object({
  MessageSid: messageSid,
  MessageStatus: z.string().regex(/^[a-z_]{2,20}$/, { error: "must be a Twilio status" }),
  ErrorCode: z.string().regex(/^\d{1,6}$/, { error: "must be a number" }).optional()
    .transform((code) => code === undefined ? null : Number(code)),
  ErrorMessage: z.string().max(500).optional().transform((m) => m ?? null),
});

export type InboundParams = z.infer<typeof inboundParams>;
export type StatusParams = z.infer<typeof statusParams>;
