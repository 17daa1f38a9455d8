/** Everything one running sandbox holds: credentials, carrier config, messages, background work. */
import { applyConfigPatch, type ConfigPatch, type SandboxConfig } from "./config.ts";
import type { OutboundMessage } from "./carrier.ts";
import { createRandom, type Random, randomSeed } from "./random.ts";
import { TaskGroup } from "./tasks.ts";

export type Logger = (entry: Record<string, unknown>) => void;

export interface SandboxState {
  accountSid: string;
  authToken: string;
  startedAt: Date;
  config: SandboxConfig;
  random: Random;
  /** Accepted messages by SID, in creation order. */
  messages: Map<string, OutboundMessage>;
  limiter: SenderRateLimiter;
  /** Status-callback sequences; cancelled when messages are cleared and on shutdown. */
  tasks: TaskGroup;
  /** Aborted on shutdown, for work done inside a request (the inbound webhook). */
  stopping: AbortController;
  /** One client for all webhooks, so shutdown can close its pooled connections. */
  client: Deno.HttpClient;
  log: Logger;
}

export function createState(
  accountSid: string,
  authToken: string,
  config: SandboxConfig,
  log: Logger,
): SandboxState {
  return {
    accountSid,
    authToken,
    startedAt: new Date(),
    config,
    random: createRandom(config.seed ?? randomSeed()),
    messages: new Map(),
    limiter: new SenderRateLimiter(),
    tasks: new TaskGroup((error) => log({ event: "background_error", error: String(error) })),
    stopping: new AbortController(),
    client: Deno.createHttpClient({}),
    log,
  };
}

/** Applies a validated config change; naming `seed` (even null) restarts the randomness. */
export function updateConfig(state: SandboxState, patch: ConfigPatch): void {
  state.config = applyConfigPatch(state.config, patch);
  if ("seed" in patch) state.random = createRandom(state.config.seed ?? randomSeed());
}

/** Sliding one-second window of accepted messages per sender, for `max_mps_per_from`. */
export class SenderRateLimiter {
  #sent = new Map<string, number[]>();

  isOverLimit(sender: string, maxPerSecond: number | null, now: number): boolean {
    if (maxPerSecond === null) return false;
    return this.#recent(sender, now).length >= maxPerSecond;
  }

  record(sender: string, now: number): void {
    this.#sent.set(sender, [...this.#recent(sender, now), now]);
  }

  clear(): void {
    this.#sent.clear();
  }

  #recent(sender: string, now: number): number[] {
    return (this.#sent.get(sender) ?? []).filter((at) => now - at < 1000);
  }
}
