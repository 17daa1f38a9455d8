/**
 * A campaign's progress as text: the lines `npm start`'s live view redraws in a terminal
 * (a header, a bar with the counts, and why it waits when it does), and the one line it
 * prints instead when its output is a log. Pure functions of a CampaignProgress.
 *
 * The bar covers every target: delivered █, failed ▓, sent and awaiting the carrier ▒,
 * set aside (skipped or canceled) ·, still to send ░.
 */
import type { CampaignProgress } from "./campaign-progress.ts";

export interface RenderOptions {
  /** Columns available: no line is longer. */
  width: number;
  /** Zone of the clock times shown (IANA); default: the system's. */
  timeZone?: string;
  /** ANSI colours for the bar. */
  color?: boolean;
}

/** What the bar and the counts show, derived from the raw counts. */
export interface Tally {
  targets: number;
  /** Handed to Twilio (or possibly: unknown outcomes count). */
  sent: number;
  delivered: number;
  /** Refused by Twilio, out of retries, or undelivered by the carrier. */
  failed: number;
  /** Sent, no final status yet. */
  awaiting: number;
  /** Skipped or canceled. */
  setAside: number;
  /** Pending or claimed. */
  toSend: number;
  replied: number;
  optedOut: number;
}

export function tally(p: CampaignProgress): Tally {
  const sent = p.sent + p.unknown;
  return {
    targets: p.targets,
    sent,
    delivered: p.delivered,
    failed: p.sendFailed + p.undelivered,
    awaiting: Math.max(0, sent - p.delivered - p.undelivered),
    setAside: p.skipped + p.canceled,
    toSend: p.pending + p.claimed,
    replied: p.replied,
    optedOut: p.optedOut,
  };
}

/** The counts after the bar: "3/40 sent · 2 delivered · 1 failed · …". */
export function countsText(p: CampaignProgress): string {
  const t = tally(p);
  const parts = [
    `${t.sent}/${t.targets} sent`,
    `${t.delivered} delivered`,
    `${t.failed} failed`,
    `${t.replied} replied`,
    `${t.optedOut} opted out`,
    `${t.toSend} pending`,
  ];
  if (p.skipped > 0) parts.push(`${p.skipped} skipped`);
  if (p.canceled > 0) parts.push(`${p.canceled} canceled`);
  if (p.unknown > 0) parts.push(`${p.unknown} unknown`);
  return parts.join(" · ");
}

interface Segment {
  count: number;
  glyph: string;
  /** ANSI SGR code. */
  sgr: string;
}

/**
 * `width` cells split in proportion to the counts (largest remainders), every non-zero
 * count getting at least one cell while there are cells to give.
 */
export function splitCells(counts: readonly number[], width: number): number[] {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0 || width <= 0) return counts.map(() => 0);
  const exact = counts.map((n) => (n * width) / total);
  const cells = exact.map(Math.floor);
  let left = width - cells.reduce((sum, n) => sum + n, 0);
  const byRemainder = exact
    .map((x, i) => ({ i, remainder: x - Math.floor(x) }))
    .sort((a, b) => b.remainder - a.remainder || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    if (exact[i] > cells[i]) {
      cells[i]++;
      left--;
    }
  }
  // A count too small for a cell of its own takes one from the largest share.
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === 0 || cells[i] > 0) continue;
    const richest = cells.indexOf(Math.max(...cells));
    if (cells[richest] <= 1) break;
    cells[richest]--;
    cells[i] = 1;
  }
  return cells;
}

/** The bar itself, exactly `width` cells between brackets. */
export function bar(p: CampaignProgress, width: number, color = false): string {
  const t = tally(p);
  const segments: Segment[] = [
    { count: t.delivered, glyph: "█", sgr: "32" },
    { count: t.failed, glyph: "▓", sgr: "31" },
    { count: t.awaiting, glyph: "▒", sgr: "33" },
    { count: t.setAside, glyph: "·", sgr: "2" },
    { count: t.toSend, glyph: "░", sgr: "2" },
  ];
  const cells = splitCells(segments.map((s) => s.count), width);
  const body = segments.map((s, i) => {
    const run = s.glyph.repeat(cells[i]);
    return color && run ? `\x1b[${s.sgr}m${run}\x1b[0m` : run;
  }).join("");
  // No target at all (nothing matched): an empty bar.
  const filled = cells.reduce((sum, n) => sum + n, 0);
  return `[${body}${" ".repeat(width - filled)}]`;
}

/**
 * Why the campaign is not sending right now, or null while it sends (or has nothing to
 * wait for). `relative` adds "(in 12 min)" to clock times.
 */
export function waitingNote(
  p: CampaignProgress,
  opts: { timeZone?: string; relative: boolean },
): string | null {
  if (p.status !== "running") return null;
  const t = tally(p);
  if (p.due > 0) {
    return t.sent === 0 && p.claimed === 0 ? "waiting for the sender's first tick" : null;
  }
  if (p.pending > 0 && p.nextAt !== null) {
    const when = clockTime(p.nextAt, p.at, opts.timeZone) +
      (opts.relative ? ` (${timeUntil(p.nextAt, p.at)})` : "");
    const reason = p.nextReason ?? "";
    if (/outside the send window/.test(reason)) {
      return `waiting for the send window: opens at ${when}`;
    }
    const why = reason.replace(/^held:\s*/, "");
    return why ? `waiting until ${when}: ${why}` : `next send at ${when}`;
  }
  if (p.claimed > 0) return null;
  if (t.awaiting > 0) return "all sent: waiting for delivery receipts";
  return null;
}

/** "18:05 UTC", with the weekday when it is not `now`'s day there ("Sat 10:00 PST"). */
export function clockTime(at: Date, now: Date, timeZone?: string): string {
  const time = new Intl.DateTimeFormat("en-US", {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone,
    timeZoneName: "short",
  }).format(at);
  const date = new Intl.DateTimeFormat("en-CA", { dateStyle: "short", timeZone });
  if (date.format(at) === date.format(now)) return time;
  return `${new Intl.DateTimeFormat("en-US", { weekday: "short", timeZone }).format(at)} ${time}`;
}

/** "in 45 s", "in 12 min", "in 2 h 5 min", "in 3 d 4 h". */
export function timeUntil(at: Date, now: Date): string {
  const ms = at.getTime() - now.getTime();
  if (ms <= 0) return "now";
  if (ms < 60_000) return `in ${Math.ceil(ms / 1000)} s`;
  const minutes = Math.ceil(ms / 60_000);
  if (minutes < 60) return `in ${minutes} min`;
  if (minutes < 24 * 60) {
    const rest = minutes % 60;
    return `in ${Math.floor(minutes / 60)} h${rest ? ` ${rest} min` : ""}`;
  }
  const hours = Math.floor(minutes / 60);
  return `in ${Math.floor(hours / 24)} d${hours % 24 ? ` ${hours % 24} h` : ""}`;
}

/** "Acme · Saturday open house". */
export function campaignTitle(p: CampaignProgress): string {
  return `${p.org} · ${p.name}`;
}

/**
 * The terminal lines of one campaign: title and status, the bar with the counts (on two
 * lines when the terminal is narrow), and the waiting note when there is one.
 */
export function renderCampaign(p: CampaignProgress, opts: RenderOptions): string[] {
  const width = Math.max(opts.width, 20);
  const targets = `${p.targets} target${p.targets === 1 ? "" : "s"}`;
  const lines = [fit(`${campaignTitle(p)} — ${p.status}, ${targets}`, width)];
  const counts = countsText(p);
  const barWidth = Math.min(40, width - counts.length - 6);
  if (barWidth >= 10) {
    lines.push(`  ${bar(p, barWidth, opts.color)}  ${counts}`);
  } else {
    lines.push(`  ${bar(p, Math.min(40, width - 4), opts.color)}`);
    lines.push(fit(`  ${counts}`, width));
  }
  const note = waitingNote(p, { timeZone: opts.timeZone, relative: true });
  if (note) lines.push(fit(`  ${note}`, width));
  return lines;
}

/** The one line printed when output is a log: title, status, counts and note, no bar. */
export function describeCampaign(p: CampaignProgress, opts: { timeZone?: string } = {}): string {
  const note = waitingNote(p, { timeZone: opts.timeZone, relative: false });
  return `${campaignTitle(p)} (${p.status}): ${countsText(p)}${note ? `; ${note}` : ""}`;
}

/** Cuts plain text to `width` columns, ending with "…" when cut. */
export function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : chars.slice(0, Math.max(0, width - 1)).join("") + "…";
}
