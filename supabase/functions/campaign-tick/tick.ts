/**
 * One tick of the sender: start due campaigns, expire stale leases, then claim and send
 * until the time budget is spent or nothing is left. Every rule that protects a recipient
 * is the claim's (in Postgres); operators' replies are claimed before campaign targets.
 * The tick claims a little ahead of its sends (slots up to `lookaheadMs` away, the next
 * claim made while the last one's sends go on), feeds one pacer for the whole tick, starts
 * each send within its slot's tolerance, and records exactly what Twilio said:
 *
 * - accepted → sent, with Twilio's SID;
 * - a failure Twilio reported → recorded with its class (suppress, invalid recipient,
 *   retry with backoff, rejected);
 * - a failure of ours (credentials, a sending number Twilio refuses) → the claim is handed
 *   back untouched and that number (or, for the account, the whole tick) stops;
 * - an outcome we cannot know (a timeout after the request left) → recorded as unknown,
 *   never sent again blindly;
 * - a send that could not start within its slot's tolerance, or before the deadline or a
 *   stop → handed back to the queue;
 * - a claim that is no longer sendable (checked in batches shortly before its slot: a
 *   STOP, a pause or a cancel committed since the claim) → not sent, handed back (the
 *   next claim decides again).
 *
 * Outcomes and hand-backs are written in small batches while sending goes on. The
 * database side is a `TickStore` (tick-store.ts), so this file is tested with a fake one.
 */
import { createClaimGate } from "./claim-gate.ts";
import type { Claim, ClaimedMessage, Outcome, SentText } from "./claims.ts";
import { type BusiestSecond, createStartCounter } from "./busiest-second.ts";
import { type Clock, createPacer, type NotStarted, systemClock } from "./pacer.ts";
import type { SendResult, TwilioClient } from "./twilio-client.ts";

export interface TickStore {
  startDueCampaigns(): Promise<void>;
  /** Of these claims, the claimKeys of those still to be sent now. */
  sendable(claims: Claim[]): Promise<Set<string>>;
  /** Marks claims whose lease ran out without an outcome as unknown; how many. */
  expireLeases(): Promise<number>;
  /**
   * Replies first, then campaign targets, in one transaction: at most `max`, leased for
   * `leaseMs`, as of `startMs` from now (when the claim will have returned: no slot is
   * already past when it arrives) with send slots less than `horizonMs` after that. The
   * database's clock decides, so a skew between clocks never puts a slot in the past.
   */
  claim(
    max: number,
    leaseMs: number,
    horizonMs: number,
    startMs: number,
  ): Promise<ClaimedMessage[]>;
  /**
   * Whether a campaign target or a reply is due now: an empty claim then only means
   * another tick holds the numbers' next slots, and this tick keeps going.
   */
  hasDueWork(): Promise<boolean>;
  record(outcomes: Outcome[]): Promise<void>;
  /** Claims never attempted go back to the queue, untouched. */
  release(claims: Claim[]): Promise<void>;
  /** A sending number Twilio refuses to send from: out of rotation, with the reason. */
  pauseNumber(phoneNumberId: string, reason: string): Promise<void>;
  /**
   * Announces the progress of the campaigns this tick touched, and completes every running
   * campaign with nothing left (also those whose last claims expired).
   */
  finishCampaigns(campaignIds: string[]): Promise<void>;
  /**
   * Folds the message metrics and runs the guardrails that read them (number health,
   * auto-pause); a campaign paused by them withholds what was claimed for it.
   */
  runGuardrails(): Promise<void>;
}

export interface TickOptions {
  /** Wall-clock budget of the tick, in ms. */
  budgetMs: number;
  /** Messages per claim. */
  batchSize: number;
  /** Requests to Twilio in flight at once. */
  concurrency: number;
  /** Twilio's status callback for every message. */
  statusCallback: string;
  /** How far ahead of now a claim hands out slots (default 2 s). */
  lookaheadMs?: number;
  /** Outcomes buffered before a write (default 50; written at least every 250 ms). */
  recordEvery?: number;
  clock?: Clock;
}

export interface TickReport {
  expired: number;
  claimed: number;
  /** Of the claimed, operators' replies. */
  replies: number;
  sent: number;
  failed: Record<string, number>;
  unknown: number;
  released: number;
  /** Of the released, those that could not start within their slot's tolerance. */
  late: number;
  /** Claims not sent because a STOP, pause or cancel came after the claim. */
  withheld: number;
  pausedNumbers: string[];
  accountStopped: string | null;
  /** Outcomes and hand-backs the database refused even one at a time (their leases expire
   * into unknown: never sent twice); the first error. */
  unwritten: number;
  writeError: string | null;
  /** Sending stopped because nothing could be written any more. */
  databaseStopped: string | null;
  /** Guardrail runs started while sending (runGuardrails), and the first that failed. */
  guardrailRuns: number;
  guardrailError: string | null;
  /** Claim statements made, their total and longest time (ms). */
  claims: number;
  claimMs: number;
  slowestClaimMs: number;
  /** The most requests one number started within one second (never above its rate). */
  busiestSecond: BusiestSecond | null;
  campaigns: string[];
}

/**
 * No claim with less time left than this: its slots would fall after the deadline. (The
 * lease is the time left, so claims never outlive the tick.)
 */
const MIN_CLAIM_MS = 1_000;
/**
 * With nothing claimable, look again this often; with nothing under way either, end after
 * a few empty claims once nothing is due (an empty claim may only mean another tick holds
 * the organization's claim or the numbers' next slots: overlapping ticks share them).
 */
const EMPTY_CLAIM_RETRIES = 2;
const EMPTY_CLAIM_PAUSE_MS = 250;
/** Outcomes and hand-backs are written at least this often. */
const FLUSH_EVERY_MS = 250;
/** Writes that fail wholesale this many times in a row stop the sending. */
const MAX_FAILED_WRITES = 3;
/** How often a tick runs the guardrails while it sends (pg_cron's job runs once a minute). */
const GUARDRAILS_EVERY_MS = 5_000;
/**
 * A claim is made as of when it is expected back: its recent duration with a margin
 * (bounded), so that its first slots are not already late when they arrive.
 */
function claimStartMs(recentClaimMs: number, lastClaimMs: number): number {
  return Math.min(
    1_000,
    Math.max(50, Math.ceil(Math.max(recentClaimMs * 1.5, lastClaimMs * 1.25)) + 30),
  );
}

function outcomeOf(message: ClaimedMessage, result: SendResult): Outcome | "release" {
  const claim = claimOf(message);
  if (result.outcome === "accepted") {
    return {
      ...claim,
      kind: "sent",
      sid: result.sid,
      status: result.status,
      text: sentText(message),
    };
  }
  if (result.class === "fatal_config") return "release";
  if (result.class === "unknown_outcome") {
    return { ...claim, kind: "unknown", message: result.message, text: sentText(message) };
  }
  return {
    ...claim,
    kind: "failed",
    failure: result.class,
    code: result.code,
    message: result.message,
    retryAfterMs: result.retryAfterMs,
  };
}

function claimOf({ source, id, claimToken }: Claim): Claim {
  return { source, id, claimToken };
}

/** What the outcome keeps of a target's text (a reply's is on its message already). */
function sentText({ body, measure }: ClaimedMessage): SentText | null {
  return measure === null ? null : { body, ...measure };
}

export async function runTick(
  store: TickStore,
  twilio: TwilioClient,
  options: TickOptions,
): Promise<TickReport> {
  const clock = options.clock ?? systemClock;
  const deadline = clock.now() + options.budgetMs;
  const recordEvery = options.recordEvery ?? 50;
  const lookaheadMs = options.lookaheadMs ?? 2_000;
  const report: TickReport = {
    expired: 0,
    claimed: 0,
    replies: 0,
    sent: 0,
    failed: {},
    unknown: 0,
    released: 0,
    late: 0,
    withheld: 0,
    pausedNumbers: [],
    accountStopped: null,
    unwritten: 0,
    writeError: null,
    databaseStopped: null,
    guardrailRuns: 0,
    guardrailError: null,
    claims: 0,
    claimMs: 0,
    slowestClaimMs: 0,
    busiestSecond: null,
    campaigns: [],
  };
  const campaigns = new Set<string>();
  const starts = createStartCounter();

  await store.startDueCampaigns();
  report.expired = await store.expireLeases();
  const gate = createClaimGate((claims) => store.sendable(claims), clock);

  // Wakes the claim loop early: the account stopped, or nothing can be written.
  const stopped = new AbortController();
  let stopSending = (_reason: string) => {};

  // Outcomes and hand-backs, written in order, one write at a time. A write the database
  // refuses is tried again row by row, so one bad row costs no other; a row refused alone
  // is counted (its lease expires into unknown: never sent twice). When whole writes fail
  // several times in a row, sending stops: what is sent must be recorded.
  let outcomes: Outcome[] = [];
  let releases: Claim[] = [];
  let writing: Promise<void> = Promise.resolve();
  let failedWrites = 0;
  const writeRows = async <T>(rows: T[], write: (rows: T[]) => Promise<void>) => {
    if (rows.length === 0) return;
    try {
      await write(rows);
      failedWrites = 0;
      return;
    } catch {
      // Row by row below.
    }
    let written = 0;
    for (const row of rows) {
      try {
        await write([row]);
        written++;
      } catch (error) {
        report.unwritten++;
        report.writeError ??= error instanceof Error ? error.message : String(error);
      }
    }
    if (written > 0) failedWrites = 0;
    else if (++failedWrites >= MAX_FAILED_WRITES) {
      stopSending(`the database refused ${failedWrites} writes in a row: ${report.writeError}`);
    }
  };
  const flush = () => {
    if (outcomes.length === 0 && releases.length === 0) return writing;
    const recorded = outcomes;
    const released = releases;
    outcomes = [];
    releases = [];
    // writeRows never throws: one failure never skips the writes queued after it.
    writing = writing.then(async () => {
      await writeRows(recorded, (rows) => store.record(rows));
      await writeRows(released, (rows) => store.release(rows));
    });
    return writing;
  };
  const handBack = (message: ClaimedMessage) => {
    releases.push(claimOf(message));
    report.released++;
  };

  const pacer = createPacer<ClaimedMessage, string>(
    async (message, control) => {
      if (message.campaignId) campaigns.add(message.campaignId);
      // A failed check sends nothing: the claim goes back and is decided again later.
      if (!(await gate.sendable(message).catch(() => false))) {
        report.withheld++;
        handBack(message);
        return "withheld";
      }
      // The check came too late for the slot: the slot is lost, the message is not.
      if (clock.now() > message.sendBy) {
        report.late++;
        handBack(message);
        return "late";
      }
      starts.record(message.messagingServiceSid ?? message.from, clock.now());
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
        handBack(message);
        if (result.outcome === "failed" && result.scope === "account") {
          report.accountStopped ??= result.message;
          control.stopAll();
          stopped.abort();
        } else if (!report.pausedNumbers.includes(message.phoneNumberId)) {
          report.pausedNumbers.push(message.phoneNumberId);
          control.stopKey(message.phoneNumberId);
          // Best effort: this tick stops the number either way; the next one tries again.
          await store.pauseNumber(
            message.phoneNumberId,
            `Twilio refused to send from it: ${result.outcome === "failed" ? result.message : ""}`,
          ).catch(() => {});
        }
        return "released";
      }
      if (outcome.kind === "sent") report.sent++;
      else if (outcome.kind === "unknown") report.unknown++;
      else report.failed[outcome.failure] = (report.failed[outcome.failure] ?? 0) + 1;
      outcomes.push(outcome);
      if (outcomes.length >= recordEvery) void flush();
      return outcome.kind;
    },
    {
      concurrency: options.concurrency,
      deadline,
      clock,
      // Counts are enough: a tick's sends would otherwise stay in memory to its end.
      keepDone: false,
      onNotStarted: (skipped: NotStarted<unknown>) => {
        const message = skipped.send.item as ClaimedMessage;
        gate.forget(message);
        if (skipped.reason === "late") report.late++;
        handBack(message);
      },
    },
  );

  stopSending = (reason) => {
    report.databaseStopped ??= reason;
    pacer.stopAll();
    stopped.abort();
  };

  let guardrailsAt = clock.now() + GUARDRAILS_EVERY_MS;
  let guardrails: Promise<void> | null = null;
  try {
    // How far each number's slots handed out to this tick reach. The next claim comes when
    // the shortest of them (of numbers with recent slots) runs low: a claim spreads its
    // targets unevenly over numbers, and none should run dry while others are well ahead.
    const claimedUntil = new Map<string, number>();
    const runwayEnd = (now: number) => {
      let end = Infinity;
      for (const [key, until] of claimedUntil) {
        if (until < now - lookaheadMs) claimedUntil.delete(key);
        else end = Math.min(end, until);
      }
      return end === Infinity ? now : end;
    };
    let nextClaimAt = clock.now();
    let emptyClaims = 0;
    // Until a claim has been timed: a generous guess.
    let recentClaimMs = 200;
    let lastClaimMs = 200;
    while (report.accountStopped === null && report.databaseStopped === null) {
      const now = clock.now();
      if (deadline - now < MIN_CLAIM_MS) break;
      void flush();
      // One run at a time; a failure is reported (the first) and tried again at the next turn.
      if (now >= guardrailsAt && guardrails === null) {
        guardrailsAt = now + GUARDRAILS_EVERY_MS;
        report.guardrailRuns++;
        guardrails = store.runGuardrails().catch((error) => {
          report.guardrailError ??= error instanceof Error ? error.message : String(error);
        }).finally(() => guardrails = null);
      }
      // Claim again once less than three quarters of the lookahead is left to send (a slow
      // claim then still returns before its numbers run dry), and not sooner than a short
      // or empty claim asked.
      const due = Math.max(nextClaimAt, runwayEnd(now) - lookaheadMs * 0.75);
      if (due > now) {
        await clock.sleep(Math.min(due - now, FLUSH_EVERY_MS), stopped.signal);
        continue;
      }
      const startMs = claimStartMs(recentClaimMs, lastClaimMs);
      const batch = await store.claim(
        options.batchSize,
        deadline - now,
        Math.max(1, Math.min(deadline - now - startMs, lookaheadMs)),
        startMs,
      );
      // Weighted toward the latest: a claim's duration follows its size and the load.
      lastClaimMs = clock.now() - now;
      report.claims++;
      report.claimMs += lastClaimMs;
      report.slowestClaimMs = Math.max(report.slowestClaimMs, lastClaimMs);
      recentClaimMs = 0.5 * recentClaimMs + 0.5 * lastClaimMs;
      if (batch.length === 0) {
        if (
          pacer.queued() === 0 && pacer.inFlight() === 0 &&
          ++emptyClaims > EMPTY_CLAIM_RETRIES && !(await store.hasDueWork())
        ) break;
        nextClaimAt = clock.now() + EMPTY_CLAIM_PAUSE_MS;
        continue;
      }
      emptyClaims = 0;
      report.claimed += batch.length;
      report.replies += batch.filter((m) => m.source === "reply").length;
      for (const m of batch) {
        claimedUntil.set(
          m.phoneNumberId,
          Math.max(claimedUntil.get(m.phoneNumberId) ?? 0, m.notBefore),
        );
      }
      // A short claim took everything claimable now: look again a little later.
      nextClaimAt = batch.length < options.batchSize
        ? clock.now() + EMPTY_CLAIM_PAUSE_MS
        : clock.now();
      gate.expect(batch.map((m) => ({ claim: m, notBefore: m.notBefore })));
      pacer.add(batch.map((m) => ({
        key: m.phoneNumberId,
        notBefore: m.notBefore,
        sendBy: m.sendBy,
        item: m,
      })));
    }
  } finally {
    // The sends under way finish; what they and the hand-backs produce is written as it
    // comes, not only at the end.
    const closing = pacer.close();
    let closed = false;
    closing.then(() => closed = true, () => closed = true);
    while (!closed) {
      void flush();
      await Promise.race([closing.then(() => {}, () => {}), clock.sleep(FLUSH_EVERY_MS)]);
    }
    const paced = await closing;
    gate.close();
    // A send that threw is a bug of ours: its request may have left, so it is unknown.
    for (const { send, error } of paced.threw) {
      outcomes.push({
        ...claimOf(send.item),
        kind: "unknown",
        message: `the sender failed: ${error instanceof Error ? error.message : String(error)}`,
        text: sentText(send.item),
      });
      report.unknown++;
    }
    await flush();
    await guardrails;
  }
  report.campaigns = [...campaigns];
  report.busiestSecond = starts.busiest();
  // Also when none was touched: campaigns whose last claims expired complete here.
  await store.finishCampaigns(report.campaigns);
  return report;
}
