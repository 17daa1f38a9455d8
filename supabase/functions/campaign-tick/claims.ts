/**
 * What the tick sends: campaign targets and operators' replies, both claimed by the
 * database with a token and a send slot, and what becomes of each.
 */
import type { FailureClass } from "./twilio-client.ts";

/** Where a claim comes from: a campaign target (bigint id) or a reply (message uuid). */
export type ClaimSource = "target" | "reply";

export interface Claim {
  source: ClaimSource;
  id: string;
  claimToken: string;
}

/** One key per claim across both sources. */
export function claimKey(claim: Pick<Claim, "source" | "id">): string {
  return `${claim.source}:${claim.id}`;
}

/** How a campaign target's text is sent (private.render_claims), kept with its outcome. */
export interface TextMeasure {
  encoding: "gsm7" | "ucs2";
  segments: number;
}

/** The text a target was sent with (or may have been): recorded with the outcome. */
export type SentText = { body: string } & TextMeasure;

/** A claim as the database hands it out. */
export interface ClaimedMessage extends Claim {
  /** Null for a reply. */
  campaignId: string | null;
  phoneNumberId: string;
  to: string;
  from: string;
  messagingServiceSid: string | null;
  body: string;
  /** A target's encoding and segments; null for a reply (its message row has them). */
  measure: TextMeasure | null;
  /** Epoch ms: not to be sent before. */
  notBefore: number;
  /** Epoch ms: not to be started after (the claim's tolerance); later, it is handed back. */
  sendBy: number;
}

export type Outcome =
  & Claim
  & (
    | { kind: "sent"; sid: string; status: string; text: SentText | null }
    | {
      kind: "failed";
      failure: Exclude<FailureClass, "fatal_config" | "unknown_outcome">;
      code: number | null;
      message: string;
      retryAfterMs: number | null;
    }
    | { kind: "unknown"; message: string; text: SentText | null }
  );

/** Splits claims (or outcomes) by source. */
export function bySource<T extends Claim>(items: readonly T[]): Record<ClaimSource, T[]> {
  const split: Record<ClaimSource, T[]> = { target: [], reply: [] };
  for (const item of items) split[item.source].push(item);
  return split;
}
