/**
 * What the leads function's HTTP tests share: the gateway address, user tokens, scratch
 * organizations (created and deleted as postgres, so runs never see each other's leads),
 * requests, and the one error shape.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { loadOrCreateKeys, mintUserToken } from "../../local/keys.ts";
import { supabaseAuthIssuer } from "../../supabase/functions/_shared/auth.ts";
import { adminSql, seed, stackEnv } from "./stack.ts";

const env = stackEnv();
export const LEADS = `${env.SUPABASE_URL}/functions/v1/leads`;

export type User = keyof typeof seed.users;
export type Role = "admin" | "campaign_manager" | "operator" | "viewer";

/** The seeded campaign manager who imports and exports in these tests. */
export const MANAGER: User = "manager@acme.test";

const tokens = new Map<User, string>();

export async function tokenOf(user: User): Promise<string> {
  let token = tokens.get(user);
  if (!token) {
    token = await mintUserToken(
      await loadOrCreateKeys(env.LOCAL_PROFILE_DIR),
      { id: seed.users[user], email: user },
      { issuer: supabaseAuthIssuer(env.SUPABASE_URL) },
    );
    tokens.set(user, token);
  }
  return token;
}

export interface Scratch {
  org: string;
  sql: postgres.Sql;
}

/**
 * Runs `fn` with an organization of its own (MANAGER is its campaign manager, plus
 * `members`), then deletes it: its imports, rows, errors, leads and broadcasts go with it.
 */
export async function withScratchOrg(
  fn: (s: Scratch) => Promise<void>,
  members: Partial<Record<User, Role>> = {},
  name = "Leads test",
): Promise<void> {
  const sql = adminSql();
  const [{ id: org }] = await sql<{ id: string }[]>`
    insert into public.organizations (name, slug)
    values (${name}, ${`leads-${crypto.randomUUID().slice(0, 12)}`}) returning id`;
  try {
    const all: Partial<Record<User, Role>> = { [MANAGER]: "campaign_manager", ...members };
    for (const [user, role] of Object.entries(all)) {
      await sql`insert into public.memberships (org_id, user_id, role)
        values (${org}, ${seed.users[user as User]}, ${role})`;
    }
    await fn({ org, sql });
  } finally {
    await sql`delete from public.organizations where id = ${org}`;
    await sql`delete from realtime.messages where topic = ${`org:${org}`}`;
    await sql.end();
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

export interface ApiError {
  code: string;
  message: string;
  details?: { path: string; message: string }[];
  request_id: string;
}

/** A request to the leads function as `user` (default MANAGER); `user: null` sends no token. */
export async function call(
  path: string,
  init: RequestInit & { user?: User | null } = {},
): Promise<Answer> {
  const { user = MANAGER, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (user !== null) headers.set("authorization", `Bearer ${await tokenOf(user)}`);
  const res = await fetch(`${LEADS}${path}`, { ...rest, headers });
  const bytes = new Uint8Array(await res.arrayBuffer());
  // CSV answers start with a UTF-8 BOM (so Excel reads UTF-8); the text is read past it.
  if (res.headers.get("content-type")?.startsWith("text/csv")) {
    assert.deepEqual([...bytes.slice(0, 3)], [0xef, 0xbb, 0xbf], "a CSV starts with the UTF-8 BOM");
  }
  return { status: res.status, headers: res.headers, text: new TextDecoder().decode(bytes) };
}

export function json<T>(answer: Answer): T {
  try {
    return JSON.parse(answer.text) as T;
  } catch {
    throw new Error(`not JSON (${answer.status}): ${answer.text.slice(0, 300)}`);
  }
}

/**
 * The answer is the error `status`/`code` in the one error shape, and its message or a
 * detail matches `where` (what is wrong and where).
 */
export function assertError(
  answer: Answer,
  status: number,
  code: string,
  where: RegExp,
): ApiError {
  assert.equal(answer.status, status, answer.text);
  const { error } = json<{ error: ApiError }>(answer);
  assert.equal(error.code, code, answer.text);
  assert.ok(error.request_id, "a request_id");
  const said = [error.message, ...(error.details ?? []).map((d) => `${d.path}: ${d.message}`)]
    .join("\n");
  assert.match(said, where);
  return error;
}
