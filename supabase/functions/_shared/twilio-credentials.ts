/**
 * Twilio's credentials, from Vault (`private.twilio_credentials()`, as sms_system), read
 * once a minute at most per isolate, so a rotation in Vault takes effect within a minute
 * and never needs a redeploy. A function given TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN in
 * its environment uses those instead (a deployment that keeps them there, or a test).
 * Neither: 503, saying where to put them.
 */
import type { Db } from "./db.ts";
import { ServiceUnavailableError } from "./errors.ts";

export interface TwilioCredentials {
  accountSid: string;
  authToken: string;
}

export type TwilioCredentialSource = () => Promise<TwilioCredentials>;

const REREAD_MS = 60_000;

export function twilioCredentials(
  db: Db,
  env: { TWILIO_ACCOUNT_SID?: string; TWILIO_AUTH_TOKEN?: string },
  rereadMs = REREAD_MS,
): TwilioCredentialSource {
  if (env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN) {
    const fixed = { accountSid: env.TWILIO_ACCOUNT_SID, authToken: env.TWILIO_AUTH_TOKEN };
    return () => Promise.resolve(fixed);
  }
  let cached: { at: number; value: Promise<TwilioCredentials> } | null = null;
  const read = async (): Promise<TwilioCredentials> => {
    const [row] = await db.asSystem((tx) =>
      tx<{ account_sid: string | null; auth_token: string | null }[]>`
        select account_sid, auth_token from private.twilio_credentials()`
    );
    if (!row?.account_sid || !row.auth_token) {
      throw new ServiceUnavailableError(
        "Twilio credentials are not set: store twilio_account_sid and twilio_auth_token " +
          "in Vault (vault.create_secret)",
      );
    }
    return { accountSid: row.account_sid, authToken: row.auth_token };
  };
  return () => {
    if (!cached || Date.now() - cached.at > rereadMs) {
      const value = read();
      cached = { at: Date.now(), value };
      // A failed read is tried again by the next caller.
      value.catch(() => {
        if (cached?.value === value) cached = null;
      });
    }
    return cached.value;
  };
}
