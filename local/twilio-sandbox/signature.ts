/**
 * Twilio's request signature, as Twilio computes it for every webhook it sends:
 * base64(HMAC-SHA1(authToken, url + key1 + value1 + key2 + value2 …)) with the POST
 * parameters taken in key-sorted order. Receivers check it with the `twilio`
 * package's `validateRequest`, so the sandbox must sign byte-for-byte the same way.
 */
import { createHmac } from "node:crypto";

export function twilioSignature(
  authToken: string,
  url: string,
  params: Record<string, string>,
): string {
  // Plain `sort()` compares UTF-16 code units, the same ordering the twilio library uses.
  const data = Object.keys(params).sort().reduce((acc, key) => acc + key + params[key], url);
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}
