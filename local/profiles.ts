/**
 * The two local stacks: `dev` (npm start / up / down, the ports the Supabase CLI
 * uses) and `test` (npm test: its own ports and data folder, so tests pass whether
 * or not a dev stack is running).
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export type ProfileName = "dev" | "test";

export interface Profile {
  name: ProfileName;
  /** Folder holding everything this stack writes (git-ignored). */
  dir: string;
  /**
   * Folder of the Postgres cluster and its log, owned by the server's OS user. Inside
   * `dir` unless that user could not reach it (see serverDirFor).
   */
  serverDir: string;
  pgData: string;
  serverLog: string;
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
  const serverDir = serverDirFor(repoRoot, name, Deno.uid() === 0);
  return {
    name,
    dir,
    serverDir,
    pgData: join(serverDir, "pgdata"),
    serverLog: join(serverDir, "postgres.log"),
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

/** Whether every folder from `path` up to `/` lets other users through (o+x). */
export function traversableByOthers(path: string): boolean {
  for (let dir = path;; dir = dirname(dir)) {
    try {
      if (((Deno.statSync(dir).mode ?? 0) & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (dir === dirname(dir)) return true;
  }
}

/**
 * Where the cluster lives. As root, Postgres runs as the `postgres` OS user, which must
 * reach its data folder: a checkout under a private folder (such as /root, mode 0700)
 * gets its cluster under /var/lib/postgresql instead (the Debian package's folder,
 * writable only by root and postgres, so no other local user can plant a symlink there),
 * named after the checkout so stacks of different checkouts never share one.
 */
export function serverDirFor(root: string, name: ProfileName, asRoot: boolean): string {
  if (!asRoot || traversableByOthers(root)) return join(root, ".local", name, "server");
  const id = createHash("sha256").update(root).digest("hex").slice(0, 12);
  return join("/var/lib/postgresql", `sct-${id}`, name);
}
