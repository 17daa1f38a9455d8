/**
 * The local stack's signing keys (local only, never deployed): an ES256 key pair that
 * signs user session tokens, served as the JWKS like hosted Supabase Auth's signing
 * keys, and a legacy HS256 secret that signs the anon and service_role API keys.
 * Created once per profile folder and kept in `keys.json` (mode 0600), so tokens stay
 * valid across restarts.
 */
import { join } from "node:path";
import { base64url, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { z } from "zod";

const jwkSchema = z.looseObject({ kty: z.literal("EC"), crv: z.literal("P-256") });

const keysFileSchema = z.object({
  kid: z.string().min(1),
  privateJwk: jwkSchema.extend({ d: z.string().min(1) }),
  publicJwk: jwkSchema,
  jwtSecret: z.string().min(40),
});

export interface LocalKeys {
  /** Key id of the ES256 signing key, in every token header and in the JWKS. */
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  /** The legacy HS256 secret (what functions get as LEGACY_JWT_SECRET). */
  jwtSecret: string;
}

export interface LocalUser {
  id: string;
  email: string;
  phone?: string;
  appMetadata?: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
}

export interface MintOptions {
  /** Supabase Auth's issuer: `${SUPABASE_URL}/auth/v1`. */
  issuer: string;
  expiresInSeconds?: number;
}

const KEYS_FILE = "keys.json";
const API_KEY_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

async function createKeys(): Promise<LocalKeys> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = crypto.randomUUID();
  const secret = base64url.encode(crypto.getRandomValues(new Uint8Array(48)));
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: "ES256", use: "sig" },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" },
    jwtSecret: secret,
  };
}

async function readKeys(file: string): Promise<LocalKeys> {
  const text = await Deno.readTextFile(file);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = keysFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${file} is not a valid local keys file; delete it to create new keys`);
  }
  return parsed.data as LocalKeys;
}

/** The keys in `dir/keys.json`, created on first use. */
export async function loadOrCreateKeys(dir: string): Promise<LocalKeys> {
  const file = join(dir, KEYS_FILE);
  try {
    return await readKeys(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dir, { recursive: true });
  const keys = await createKeys();
  // Written whole to a private temp file, then linked into place: the link is atomic and
  // fails if keys.json exists, so a reader never sees a half-written file.
  const temp = join(dir, `.${KEYS_FILE}.${crypto.randomUUID()}`);
  await Deno.writeTextFile(temp, JSON.stringify(keys, null, 2) + "\n", {
    mode: 0o600,
    createNew: true,
  });
  try {
    await Deno.link(temp, file);
    return keys;
  } catch (error) {
    // Another process created the file first: use its keys, so both sign alike.
    if (error instanceof Deno.errors.AlreadyExists) return await readKeys(file);
    throw error;
  } finally {
    await Deno.remove(temp);
  }
}

/** The public JWKS, as served at `/auth/v1/.well-known/jwks.json`. */
export function jwks(keys: LocalKeys): { keys: JWK[] } {
  const { kty, crv, x, y } = keys.publicJwk;
  return { keys: [{ kty, crv, x, y, kid: keys.kid, alg: "ES256", use: "sig" }] };
}

/** An access token with the claims Supabase Auth puts in a password sign-in's session. */
export async function mintUserToken(
  keys: LocalKeys,
  user: LocalUser,
  opts: MintOptions,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const privateKey = await importJWK(keys.privateJwk, "ES256");
  return await new SignJWT({
    email: user.email,
    phone: user.phone ?? "",
    app_metadata: { provider: "email", providers: ["email"], ...user.appMetadata },
    user_metadata: user.userMetadata ?? {},
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: iat }],
    session_id: crypto.randomUUID(),
    is_anonymous: false,
  })
    .setProtectedHeader({ alg: "ES256", kid: keys.kid, typ: "JWT" })
    .setIssuer(opts.issuer)
    .setSubject(user.id)
    .setAudience("authenticated")
    .setIssuedAt(iat)
    .setExpirationTime(iat + (opts.expiresInSeconds ?? 3600))
    .sign(privateKey);
}

/** A legacy API key (anon or service_role): an HS256 JWT valid for ten years. */
export async function mintApiKey(
  keys: LocalKeys,
  role: "anon" | "service_role",
  issuer: string,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return await new SignJWT({ role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(issuer)
    .setIssuedAt(iat)
    .setExpirationTime(iat + API_KEY_LIFETIME_SECONDS)
    .sign(new TextEncoder().encode(keys.jwtSecret));
}
