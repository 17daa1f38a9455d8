/**
 * The two local stacks: `dev` (npm start / up / down, the ports the Supabase CLI
 * uses) and `test` (npm test: its own ports and data folder, so tests pass whether
 * or not a dev stack is running).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export type ProfileName = "dev" | "test";

export interface Profile {
  name: ProfileName;
  /** Folder holding everything this stack writes (git-ignored). */
  dir: string;
  pgData: string;
  /** Unix socket folder: kept short, socket paths are limited to 107 bytes. */
  socketDir: string;
  logDir: string;
  pidsFile: string;
  /** Shell `NAME=value` file describing the running stack. */
  envFile: string;
  apiPort: number;
  dbPort: number;
  twilioPort: number;
  /** Durability off: test data is thrown away after each run. */
  fastUnsafe: boolean;
}

export const repoRoot = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

/**
 * Ports are `base + 21` (functions), `+ 22` (Postgres), `+ 25` (Twilio sandbox): 54300
 * for dev, as the Supabase CLI, 55300 for tests. `SCT_PORT_BASE` moves the dev stack
 * elsewhere (the test of `npm start` runs a second dev stack on a fresh clone that way).
 */
export function profile(name: ProfileName): Profile {
  const override = Number(Deno.env.get("SCT_PORT_BASE"));
  const devBase = override > 1024 && override < 65000 ? override : 54300;
  const base = name === "dev" ? devBase : 55300;
  const dir = join(repoRoot, ".local", name);
  const dbPort = base + 22;
  return {
    name,
    dir,
    pgData: join(dir, "pgdata"),
    socketDir: `/tmp/sct-${dbPort}`,
    logDir: join(dir, "logs"),
    pidsFile: join(dir, "pids.json"),
    envFile: name === "dev" ? join(repoRoot, ".local", "env") : join(dir, "env"),
    apiPort: base + 21,
    dbPort,
    twilioPort: base + 25,
    fastUnsafe: name === "test",
  };
}
