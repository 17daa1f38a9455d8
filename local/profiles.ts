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

export function profile(name: ProfileName): Profile {
  const base = name === "dev" ? 54300 : 55300;
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
