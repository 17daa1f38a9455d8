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

Deno.test({
  name: "README: npm start on a fresh clone comes up, shows the stack, and Ctrl-C stops it all",
  // The clone's postgres runs as the postgres OS user when we are root: it must reach it.
  sanitizeResources: false,
  async fn() {
    const parent = await Deno.makeTempDir({ prefix: "sct-clone-" });
    await Deno.chmod(parent, 0o755);
    const clone = `${parent}/repo`;
    await git(["clone", "--quiet", "--no-hardlinks", repo, clone]);
    // Reuse the npm cache of this machine; nothing else is shared with the working tree.
    const base = 56300 + (freePort() % 50) * 10;
    const child = new Deno.Command("setsid", {
      args: ["npm", "start"],
      cwd: clone,
      env: { SCT_PORT_BASE: String(base), CI: "true" },
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
      const token = output.match(/admin@acme\.test\s+(ey[\w-]+\.[\w-]+\.[\w-]+)/)?.[1];
      assert.ok(token, "a token is printed for admin@acme.test");
      const health = await fetch(`http://127.0.0.1:${base + 21}/functions/v1/health`);
      assert.equal(health.status, 200, await health.text());
      assert.ok((await processesMentioning(clone)).length >= 4, "services and Postgres run");
    } finally {
      // Ctrl-C in a terminal signals the whole foreground process group.
      Deno.kill(-child.pid, "SIGINT");
      const status = await child.status;
      await collecting;
      // npm itself exits at once on SIGINT (130); the stack's own shutdown may finish after.
      let left = await processesMentioning(clone);
      for (let i = 0; i < 150 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = await processesMentioning(clone);
      }
      await Deno.remove(parent, { recursive: true }).catch(() => {});
      assert.ok([0, 130].includes(status.code), `exit code ${status.code}:\n${output}`);
      assert.deepEqual(left, [], `processes left behind:\n${output}`);
    }
  },
});
