/**
 * One tick of the sender: start due campaigns, expire stale leases, then claim and send
 * batch after batch until the time budget is spent or nothing is claimable. Every rule
 * that protects a recipient is the claim's (in Postgres); the tick keeps each message's
 * slot (`notBefore`), sends it, and records exactly what Twilio said:
 *
 * - accepted → sent, with Twilio's SID;
 * - a failure Twilio reported → recorded with its class (suppress, invalid recipient,
 *   retry with backoff, rejected);
 * - a failure of ours (credentials, a sending number Twilio refuses) → the claim is handed
 *   back untouched and that number (or, for the account, the whole tick) stops;
 * - an outcome we cannot know (a timeout after the request left) → recorded as unknown,
 *   never sent again blindly;
 * - a send the deadline (or a stop) kept from starting → handed back to the queue;
 * - a claim that is no longer sendable when its slot comes (checked in batches just
 *   before sending: a STOP, a pause or a cancel committed since the claim) → not sent,
 *   handed back (the next claim decides again).
 *
 * Outcomes are written in small batches while sending goes on. The database side is a
 * `TickStore` (tick-store.ts), so this file is tested with a fake one.
 */
import { createClaimGate } from "./claim-gate.ts";
import { type Clock, runPaced, systemClock } from "./pacer.ts";
import type { FailureClass, SendResult, TwilioClient } from "./twilio-client.ts";

/** A target claimed for sending, as the claim returns it. */
export interface ClaimedMessage {
  targetId: string;
  claimToken: string;
  campaignId: string;
  phoneNumberId: string;
  to: string;
  from: string;
  messagingServiceSid: string | null;
  body: string;
  /** Epoch ms: not to be sent before. */
  notBefore: number;
}

export type Outcome =
  | { kind: "sent"; targetId: string; claimToken: string; sid: string; status: string }
  | {
    kind: "failed";
    targetId: string;
    claimToken: string;
    failure: Exclude<FailureClass, "fatal_config" | "unknown_outcome">;
    code: number | null;
    message: string;
    retryAfterMs: number | null;
  }
  | { kind: "unknown"; targetId: string; claimToken: string; message: string };

export interface Claim {
  targetId: string;
  claimToken: string;
}

export interface TickStore {
  startDueCampaigns(): Promise<void>;
  /** Of these claims, the target ids still to be sent now. */
  sendable(claims: Claim[]): Promise<Set<string>>;
  /** Marks claims whose lease ran out without an outcome as unknown; how many. */
  expireLeases(): Promise<number>;
  claim(max: number, leaseMs: number): Promise<ClaimedMessage[]>;
  record(outcomes: Outcome[]): Promise<void>;
  /** Claims never attempted go back to pending, untouched. */
  release(claims: Claim[]): Promise<void>;
  /** A sending number Twilio refuses to send from: out of rotation, with the reason. */
  pauseNumber(phoneNumberId: string, reason: string): Promise<void>;
  /**
   * Announces the progress of the campaigns this tick touched, and completes every running
   * campaign with nothing left (also those whose last claims expired).
   */
  finishCampaigns(campaignIds: string[]): Promise<void>;
}

export interface TickOptions {
  /** Wall-clock budget of the tick, in ms. */
  budgetMs: number;
  /** Targets per claim. */
  batchSize: number;
  /** Requests to Twilio in flight at once. */
  concurrency: number;
  /** Twilio's status callback for every message. */
  statusCallback: string;
  /** Outcomes buffered before a write (default 50). */
  recordEvery?: number;
  clock?: Clock;
}

export interface TickReport {
  expired: number;
  claimed: number;
  sent: number;
  failed: Record<string, number>;
  unknown: number;
  released: number;
  /** Claims not sent because a STOP, pause or cancel came after the claim. */
  withheld: number;
  pausedNumbers: string[];
  accountStopped: string | null;
  campaigns: string[];
}

/**
 * No claim with less time left than this: its slots would fall after the deadline. (The
 * claim hands out slots within the lease, so the lease is the time left: slots never
 * outlive the tick, and the next tick finds the numbers free.)
 */
const MIN_CLAIM_MS = 1_000;
/**
 * An empty claim may only mean another tick holds the organization's claim (the claim
 * skips a busy organization rather than wait): try again a few times before ending.
 */
const EMPTY_CLAIM_RETRIES = 2;
const EMPTY_CLAIM_PAUSE_MS = 250;

function outcomeOf(message: ClaimedMessage, result: SendResult): Outcome | "release" {
  const { targetId, claimToken } = message;
  if (result.outcome === "accepted") {
    return { kind: "sent", targetId, claimToken, sid: result.sid, status: result.status };
  }
  if (result.class === "fatal_config") return "release";
  if (result.class === "unknown_outcome") {
    return { kind: "unknown", targetId, claimToken, message: result.message };
  }
  return {
    kind: "failed",
    targetId,
    claimToken,
    failure: result.class,
    code: result.code,
    message: result.message,
    retryAfterMs: result.retryAfterMs,
  };
}

export async function runTick(
  store: TickStore,
  twilio: TwilioClient,
  options: TickOptions,
): Promise<TickReport> {
  const clock = options.clock ?? systemClock;
  const deadline = clock.now() + options.budgetMs;
  const recordEvery = options.recordEvery ?? 50;
  const report: TickReport = {
    expired: 0,
    claimed: 0,
    sent: 0,
    failed: {},
    unknown: 0,
    released: 0,
    withheld: 0,
    pausedNumbers: [],
    accountStopped: null,
    campaigns: [],
  };
  const campaigns = new Set<string>();
  const stillSendable = createClaimGate((claims) => store.sendable(claims), clock);

  await store.startDueCampaigns();
  report.expired = await store.expireLeases();

  let pending: Outcome[] = [];
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    await writing;
    writing = store.record(batch);
    // Handled here; a failure is thrown by the next flush.
    writing.catch(() => {});
  };

  let emptyClaims = 0;
  while (deadline - clock.now() >= MIN_CLAIM_MS && report.accountStopped === null) {
    const batch = await store.claim(options.batchSize, deadline - clock.now());
    if (batch.length === 0) {
      if (++emptyClaims > EMPTY_CLAIM_RETRIES) break;
      await clock.sleep(EMPTY_CLAIM_PAUSE_MS);
      continue;
    }
    emptyClaims = 0;
    report.claimed += batch.length;
    const toRelease: Claim[] = [];
    const paced = await runPaced(
      batch.map((m) => ({ key: m.phoneNumberId, notBefore: m.notBefore, item: m })),
      async (message, control) => {
        campaigns.add(message.campaignId);
        // A failed check sends nothing: the claim goes back and is decided again later.
        if (!(await stillSendable(message).catch(() => false))) {
          report.withheld++;
          toRelease.push(message);
          return "withheld" as const;
        }
        const result = await twilio.sendSms({
          to: message.to,
          body: message.body,
          statusCallback: options.statusCallback,
          ...(message.messagingServiceSid
            ? { messagingServiceSid: message.messagingServiceSid }
            : { from: message.from }),
        });
        const outcome = outcomeOf(message, result);
        if (outcome === "release") {
          toRelease.push(message);
          if (result.outcome === "failed" && result.scope === "account") {
            report.accountStopped ??= result.message;
            control.stopAll();
          } else if (!report.pausedNumbers.includes(message.phoneNumberId)) {
            report.pausedNumbers.push(message.phoneNumberId);
            control.stopKey(message.phoneNumberId);
            await store.pauseNumber(
              message.phoneNumberId,
              `Twilio refused to send from it: ${
                result.outcome === "failed" ? result.message : ""
              }`,
            );
          }
        } else {
          if (outcome.kind === "sent") report.sent++;
          else if (outcome.kind === "unknown") report.unknown++;
          else report.failed[outcome.failure] = (report.failed[outcome.failure] ?? 0) + 1;
          pending.push(outcome);
          if (pending.length >= recordEvery) await flush();
        }
        return outcome;
      },
      { concurrency: options.concurrency, deadline, clock },
    );
    await flush();
    await writing;
    // A send that threw is a bug of ours: its request may have left, so it is unknown.
    for (const { send, error } of paced.threw) {
      pending.push({
        kind: "unknown",
        targetId: send.item.targetId,
        claimToken: send.item.claimToken,
        message: `the sender failed: ${error instanceof Error ? error.message : String(error)}`,
      });
      report.unknown++;
    }
    await flush();
    await writing;
    for (const { send } of paced.notStarted) toRelease.push(send.item);
    if (toRelease.length > 0) {
      await store.release(toRelease.map(({ targetId, claimToken }) => ({ targetId, claimToken })));
      report.released += toRelease.length;
    }
    // Nothing of this batch could start before the deadline: claiming again would only
    // hand the same targets back.
    if (paced.done.length === 0 && paced.threw.length === 0) break;
  }
  report.campaigns = [...campaigns];
  // Also when none was touched: campaigns whose last claims expired complete here.
  await store.finishCampaigns(report.campaigns);
  return report;
}
