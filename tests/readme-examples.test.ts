/**
 * The README's supabase-js examples (its ```ts blocks) compile against the database types
 * generated from the migrations (supabase/functions/_shared/database.types.ts): a table,
 * column, RPC or argument that does not exist, or a value of the wrong type, fails here.
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
/** Names the examples use without defining them: what an app would have at hand. */
const PRELUDE = `import { createClient } from "@supabase/supabase-js";
import type { Database } from "../supabase/functions/_shared/database.types.ts";

declare const supabase: ReturnType<typeof createClient<Database>>;
declare const orgId: string;
declare const threadId: string;
declare const invitationId: string;
declare const variantId: string;
declare const leadId: string;
declare const campaignId: string;
declare function refreshInbox(payload: unknown): void;
`;

Deno.test("README: every supabase-js example type-checks against the generated types", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 5, `${blocks.length} examples`);
  const source = PRELUDE +
    blocks.map((block, i) =>
      `// README example ${i + 1}\nexport async function example${i + 1}() {\n${block}}\n`
    ).join("\n");
  const dir = new URL(".local/", root);
  await Deno.mkdir(dir, { recursive: true });
  const file = new URL(`readme-examples-${crypto.randomUUID()}.ts`, dir);
  await Deno.writeTextFile(file, source.replaceAll("../supabase/", "../supabase/"));
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", file.pathname],
      cwd: root.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.ok(out.success, `the README's examples do not type-check:\n${said}`);
  } finally {
    await Deno.remove(file);
  }
});
