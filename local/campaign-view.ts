/**
 * `npm start`'s live view: a progress bar per running campaign, read from the database
 * (campaign-progress.ts) and redrawn about once a second at the bottom of the terminal,
 * with the services' log lines printed above it. When stdout is not a terminal (CI, a log
 * file) nothing is redrawn: one line per campaign whenever what it says changes.
 */
import type postgres from "postgres";
import { type CampaignProgress, campaignProgress } from "./campaign-progress.ts";
import { describeCampaign, fit, renderCampaign } from "./progress-bar.ts";
import type { LineSink } from "./services.ts";
import { abortableSleep } from "./abortable-sleep.ts";

const encoder = new TextEncoder();

function writeAll(sink: LineSink, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += sink.writeSync(bytes.subarray(done));
}

/**
 * The terminal below the log: a block of lines that is replaced in place (cursor moved up,
 * screen cleared below) and that other output goes above. Off a terminal it only passes
 * lines through.
 */
export class LiveScreen {
  readonly isTerminal: boolean;
  #out: LineSink;
  #block: string[] = [];
  #drawn = 0;
  #released = false;

  constructor(out: LineSink & { isTerminal?: () => boolean } = Deno.stdout, isTerminal?: boolean) {
    this.#out = out;
    this.isTerminal = isTerminal ?? out.isTerminal?.() ?? false;
  }

  /** Other output (whole lines), written above the block. */
  sink(stream: LineSink): LineSink {
    if (!this.isTerminal) return stream;
    return {
      writeSync: (bytes) => {
        this.#erase();
        writeAll(stream, bytes);
        this.#draw();
        return bytes.length;
      },
    };
  }

  /** Replaces the block (on a terminal). */
  show(lines: string[]): void {
    if (this.#released || !this.isTerminal) return;
    this.#erase();
    this.#block = lines;
    this.#draw();
  }

  /** One line of output, above the block. */
  print(line: string): void {
    this.sink(this.#out).writeSync(encoder.encode(line + "\n"));
  }

  /** Leaves the block as it is on screen; later output goes below it. */
  release(): void {
    this.#released = true;
    this.#block = [];
    this.#drawn = 0;
  }

  #erase(): void {
    if (this.#drawn === 0) return;
    // To the start of the block's first line, then clear everything below.
    writeAll(this.#out, encoder.encode(`\x1b[${this.#drawn}F\x1b[J`));
    this.#drawn = 0;
  }

  #draw(): void {
    if (this.#released || this.#block.length === 0) return;
    writeAll(this.#out, encoder.encode(this.#block.map((line) => line + "\n").join("")));
    this.#drawn = this.#block.length;
  }
}

export interface ViewOptions {
  sql: postgres.Sql;
  screen: LiveScreen;
  /** Stops the view (it resolves once the refresh in progress has finished). */
  signal: AbortSignal;
  /** Campaigns shown whatever their status (the demo's, once it completed). */
  campaigns?: readonly string[];
  intervalMs?: number;
  /** Zone of the clock times shown; default: the system's. */
  timeZone?: string;
  color?: boolean;
  /** Terminal columns now. */
  columns?: () => number;
}

/** Refreshes until `signal` aborts. Never throws: a failed read is shown, then retried. */
export async function watchCampaigns(options: ViewOptions): Promise<void> {
  const { screen, signal } = options;
  const shown = new Set(options.campaigns ?? []);
  const printed = new Map<string, string>();
  const columns = options.columns ?? terminalColumns;
  while (!signal.aborted) {
    let progress: CampaignProgress[] | undefined;
    let problem: string | undefined;
    try {
      progress = await campaignProgress(options.sql, [...shown]);
    } catch (error) {
      problem = `campaign progress unavailable: ${error instanceof Error ? error.message : error}`;
    }
    if (signal.aborted) break;
    for (const p of progress ?? []) shown.add(p.id);
    if (screen.isTerminal) {
      screen.show(terminalLines(progress, problem, options, columns()));
    } else {
      // After a problem every campaign is printed again; a problem or an empty list that
      // comes back after a change is printed again.
      if (problem && !printed.has("problem")) printed.clear();
      if (!problem) printed.delete("problem");
      if (progress?.length) printed.delete("none");
      for (const [key, line] of logLines(progress, problem, options)) {
        if (printed.get(key) === line) continue;
        printed.set(key, line);
        screen.print(`${new Date().toTimeString().slice(0, 8)} ${line}`);
      }
    }
    await abortableSleep(options.intervalMs ?? 1000, signal);
  }
}

const LEGEND = "   █ delivered  ▓ failed  ▒ sent, no receipt yet  · skipped or canceled  ░ to send";

function terminalLines(
  progress: CampaignProgress[] | undefined,
  problem: string | undefined,
  options: ViewOptions,
  width: number,
): string[] {
  const at = progress?.[0]?.at ?? new Date();
  const clock = new Intl.DateTimeFormat("en-US", {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZone: options.timeZone,
    timeZoneName: "short",
  }).format(at);
  const title = `campaigns at ${clock}`;
  const lines = ["", fit(`── ${title} (Ctrl-C stops the stack) ──`, width), fit(LEGEND, width)];
  if (problem) return [...lines, fit(problem, width)];
  if (!progress || progress.length === 0) return [...lines, "no running campaign"];
  for (const p of progress) {
    lines.push(...renderCampaign(p, { width, timeZone: options.timeZone, color: options.color }));
  }
  return lines;
}

/** [key, line] per campaign (or for the problem / the absence of campaigns). */
function logLines(
  progress: CampaignProgress[] | undefined,
  problem: string | undefined,
  options: ViewOptions,
): [string, string][] {
  if (problem) return [["problem", problem]];
  if (!progress || progress.length === 0) return [["none", "no running campaign"]];
  return progress.map((p) => [p.id, describeCampaign(p, { timeZone: options.timeZone })]);
}

function terminalColumns(): number {
  try {
    // A pseudo-terminal nobody sized answers 0.
    return Deno.consoleSize().columns || 100;
  } catch {
    return 100;
  }
}
