/** CampaignProgress values for the live view's unit tests. */
import type { CampaignProgress } from "../../local/campaign-progress.ts";

export const NOW = new Date("2026-11-26T16:51:20Z");

export function progress(overrides: Partial<CampaignProgress> = {}): CampaignProgress {
  return {
    id: "a6000000-0000-4000-8000-000000000001",
    name: "Saturday open house",
    org: "Acme",
    status: "running",
    startedAt: new Date("2026-11-26T16:50:00Z"),
    targets: 40,
    pending: 20,
    claimed: 2,
    sent: 12,
    unknown: 0,
    skipped: 3,
    canceled: 1,
    sendFailed: 2,
    delivered: 8,
    undelivered: 1,
    replied: 3,
    optedOut: 1,
    due: 20,
    nextAt: null,
    nextReason: null,
    at: NOW,
    ...overrides,
  };
}

/** A campaign whose every target waits for the window, as the claim leaves them. */
export const HELD = progress({
  targets: 2,
  pending: 2,
  claimed: 0,
  sent: 0,
  skipped: 0,
  canceled: 0,
  sendFailed: 0,
  delivered: 0,
  undelivered: 0,
  replied: 0,
  optedOut: 0,
  due: 0,
  nextAt: new Date("2026-11-26T18:00:00Z"),
  nextReason: "held: outside the send window",
});
