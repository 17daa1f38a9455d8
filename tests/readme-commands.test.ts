/**
 * The README's `npm start`, tried as a new user would: on a fresh clone of the
 * committed repository, it installs what it needs, brings the whole stack up, shows
 * URLs, keys and a token per seeded user, and Ctrl-C stops every process it started.
 * (`npm test` from nothing is what CI itself runs on a fresh clone.)
 * The clone's stack runs on other ports (SCT_PORT_BASE), beside any dev or test stack.
 */
import assert from "node:assert/strict";
import { freePort } from "./support/stack.ts";

const repo = new URL("../", import.meta.url).pathname;

/** GET /functions/v1/health until it answers 200 or `ms` pass; the last answer. */
async function healthWithin(base: string, ms: number): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + ms;
  while (true) {
    const res = await fetch(`${base}/functions/v1/health`);
    const answer = { status: res.status, body: await res.text() };
    if (answer.status === 200 || Date.now() > deadline) return answer;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

async function git(args: string[], cwd = repo): Promise<string> {
  const out = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** PIDs of processes whose command line mentions `needle`. */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes(needle)) pids.push(Number(entry.name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/**
 * What a new user's shell has: nothing of the test stack's environment leaks in. HOME
 * keeps npm's and Deno's download caches, as a user's machine would, and the machine's
 * certificate and proxy settings still reach the registries.
 */
const USER_SHELL_VARIABLES = [
  "PATH",
  "HOME",
  "LANG",
  "TMPDIR",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
  "DENO_CERT",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
];

function userEnv(base: number): Record<string, string> {
  const env: Record<string, string> = { SCT_PORT_BASE: String(base) };
  for (const name of USER_SHELL_VARIABLES) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

async function npm(clone: string, base: number, args: string[]) {
  const out = await new Deno.Command("npm", {
    args,
    cwd: clone,
    env: userEnv(base),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Waits until no process mentions `needle`; returns those still there after the wait. */
async function waitGone(needle: string, ms = 15_000): Promise<number[]> {
  let left = await processesMentioning(needle);
  for (const deadline = Date.now() + ms; left.length > 0 && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 100));
    left = await processesMentioning(needle);
  }
  return left;
}

Deno.test({
  name: "README commands on a fresh clone: npm start, npm run token, npm run up / down",
  // The clone's postgres runs as the postgres OS user when we are root: it must reach it.
  sanitizeResources: false,
  async fn(t) {
    const parent = await Deno.makeTempDir({ prefix: "sct-clone-" });
    await Deno.chmod(parent, 0o755);
    const clone = `${parent}/repo`;
    await git(["clone", "--quiet", "--no-hardlinks", repo, clone]);
    const base = 56300 + (freePort() % 50) * 10;
    try {
      await t.step("npm start comes up, shows the stack, and Ctrl-C stops it all", async () => {
        const child = new Deno.Command("setsid", {
          args: ["npm", "start"],
          cwd: clone,
          env: userEnv(base),
          clearEnv: true,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        let output = "";
        const collect = async (stream: ReadableStream<Uint8Array>) => {
          for await (const chunk of stream.pipeThrough(new TextDecoderStream())) output += chunk;
        };
        const collecting = Promise.all([collect(child.stdout), collect(child.stderr)]);
        try {
          const deadline = Date.now() + 240_000;
          while (!output.includes("Ctrl-C stops every process")) {
            assert.ok(Date.now() < deadline, `npm start did not come up:\n${output}`);
            await new Promise((r) => setTimeout(r, 200));
          }
          for (
            const expected of [
              "/functions/v1/",
              "SUPABASE_ANON_KEY",
              "admin@acme.test",
              "viewer@globex.test",
            ]
          ) {
            assert.ok(output.includes(expected), `the banner shows ${expected}`);
          }
          assert.match(output, /admin@acme\.test\s+ey[\w-]+\.[\w-]+\.[\w-]+/);
          // The stack just came up and its demo campaign starts sending: a health check in
          // that moment may time out (2 s) on a busy machine. It must answer 200 within 20 s.
          const healthy = await healthWithin(`http://127.0.0.1:${base + 21}`, 20_000);
          assert.equal(healthy.status, 200, healthy.body);
          assert.ok((await processesMentioning(clone)).length >= 4, "services and Postgres run");

          // npm run token prints only the JWT, and the JWT is one the stack accepts.
          const token = await npm(clone, base, ["run", "token", "--", "admin@acme.test"]);
          assert.equal(token.code, 0, token.stderr);
          assert.match(token.stdout, /^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
          const [, payload] = token.stdout.trim().split(".");
          const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
          assert.equal(claims.sub, "a0000000-0000-4000-8000-000000000001");
          assert.equal(claims.role, "authenticated");
          const unknown = await npm(clone, base, ["run", "token", "--", "nobody@acme.test"]);
          assert.notEqual(unknown.code, 0);
          assert.equal(unknown.stdout, "", "no token for an unknown user");
        } finally {
          // Ctrl-C in a terminal signals the whole foreground process group.
          Deno.kill(-child.pid, "SIGINT");
          const status = await child.status;
          await collecting;
          // npm itself exits at once on SIGINT (130); the stack's own shutdown may end later.
          assert.ok([0, 130].includes(status.code), `exit code ${status.code}:\n${output}`);
          assert.deepEqual(await waitGone(clone), [], `processes left behind:\n${output}`);
        }
      });

      await t.step("npm run up returns with every service answering; down stops them", async () => {
        const up = await npm(clone, base, ["run", "up"]);
        try {
          assert.equal(up.code, 0, up.stderr);
          const env = await Deno.readTextFile(`${clone}/.local/env`);
          for (
            const name of [
              "SUPABASE_URL",
              "SUPABASE_DB_URL",
              "SUPABASE_ANON_KEY",
              "SUPABASE_SERVICE_ROLE_KEY",
              "SUPABASE_JWKS_URL",
              "TWILIO_API_BASE",
              "TWILIO_ACCOUNT_SID",
              "TWILIO_AUTH_TOKEN",
            ]
          ) {
            assert.match(env, new RegExp(`^${name}=\\S+$`, "m"), `.local/env has ${name}`);
          }
          // up has returned: the services it left running answer at once.
          // The stack just came up and its demo campaign starts sending: a health check in
          // that moment may time out (2 s) on a busy machine. It must answer 200 within 20 s.
          const healthy = await healthWithin(`http://127.0.0.1:${base + 21}`, 20_000);
          assert.equal(healthy.status, 200, healthy.body);
        } finally {
          const down = await npm(clone, base, ["run", "down"]);
          assert.equal(down.code, 0, down.stderr);
          assert.deepEqual(await waitGone(clone, 2000), [], "down leaves no process behind");
        }
      });
    } finally {
      await Deno.remove(parent, { recursive: true }).catch(() => {});
    }
  },
});
