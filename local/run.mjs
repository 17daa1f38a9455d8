#!/usr/bin/env node
// Entry point of every npm script. Plain Node, no dependencies: on a fresh clone it
// installs what the project needs (npm packages; Debian packages when root, otherwise
// it names them), then hands over to the Deno CLI in local/cli.ts.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const command = process.argv[2];
const args = process.argv.slice(3);
const say = (line) => process.stderr.write(`» ${line}\n`);

// Files whose presence proves each Debian package is installed.
const debianPackages = [
  ["postgresql-15", "/usr/lib/postgresql/15/bin/postgres"],
  ["postgresql-15-cron", "/usr/lib/postgresql/15/lib/pg_cron.so"],
  ["postgresql-15-pgtap", "/usr/share/postgresql/15/extension/pgtap.control"],
  ["postgresql-15-plpgsql-check", "/usr/lib/postgresql/15/lib/plpgsql_check.so"],
  ["libtap-parser-sourcehandler-pgtap-perl", "/usr/bin/pg_prove"],
];

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

function ensureNpmPackages() {
  const marker = join(root, "node_modules", ".package-lock.json");
  if (mtime(marker) >= mtime(join(root, "package-lock.json")) && denoBinary()) return;
  say("installing npm packages (npm ci)");
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function ensureDebianPackages() {
  const missing = debianPackages.filter(([, file]) => !existsSync(file)).map(([name]) => name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    say(`missing Debian packages: ${missing.join(" ")}`);
    say(`install them with: sudo apt-get install -y ${missing.join(" ")}`);
    process.exit(1);
  }
  say(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const argv of [["update", "-q"], ["install", "-y", "-q", ...missing]]) {
    const result = spawnSync("apt-get", argv, { stdio: ["ignore", "inherit", "inherit"], env });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}

// node_modules/.bin/deno is a Node wrapper; run the Deno binary itself so that signals
// and PIDs are Deno's own.
function denoBinary() {
  const scope = join(root, "node_modules", "@deno");
  if (!existsSync(scope)) return undefined;
  for (const dir of readdirSync(scope)) {
    const bin = join(scope, dir, "deno");
    if (existsSync(bin)) return bin;
  }
  return undefined;
}

ensureNpmPackages();
if (["start", "up", "test"].includes(command)) ensureDebianPackages();

const child = spawn(denoBinary(), [
  "run",
  "--allow-all",
  "--quiet",
  join(root, "local", "cli.ts"),
  command,
  ...args,
], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" },
});
// Ctrl-C reaches the Deno process through the terminal; it stops the stack itself.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
