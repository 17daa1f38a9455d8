import assert from "node:assert/strict";
import { serverDirFor, traversableByOthers } from "../local/profiles.ts";

Deno.test("the cluster stays in the checkout when the server's OS user can reach it", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.chmod(root, 0o755);
    assert.equal(traversableByOthers(root), true);
    assert.equal(serverDirFor(root, "dev", true), `${root}/.local/dev/server`);
    assert.equal(serverDirFor(root, "test", false), `${root}/.local/test/server`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("as root, a checkout in a private folder gets its cluster under /var/lib/postgresql", async () => {
  const parent = await Deno.makeTempDir();
  try {
    await Deno.chmod(parent, 0o700);
    const root = `${parent}/repo`;
    await Deno.mkdir(root, { mode: 0o755 });
    assert.equal(traversableByOthers(root), false, "a 0700 parent blocks other users");
    const dev = serverDirFor(root, "dev", true);
    assert.match(dev, /^\/var\/lib\/postgresql\/sct-[0-9a-f]{12}\/dev$/);
    assert.equal(serverDirFor(root, "test", true), dev.replace(/dev$/, "test"));
    assert.notEqual(serverDirFor(`${root}-other`, "dev", true), dev, "one folder per checkout");
    // Not root: the server runs as ourselves and reaches the checkout.
    assert.equal(serverDirFor(root, "dev", false), `${root}/.local/dev/server`);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});
