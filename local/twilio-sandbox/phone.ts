/** Phone-number rules the sandbox applies the way Twilio's API does. */

/** E.164 as Twilio documents it: `+`, a non-zero country code digit, at most 15 digits. */
const E164 = /^\+[1-9]\d{1,14}$/;
const SHORT_CODE = /^\d{5,6}$/;
/** Alphanumeric sender IDs: up to 11 letters, digits or spaces, at least one letter. */
const ALPHANUMERIC_SENDER = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/;

export function isE164(value: string): boolean {
  return E164.test(value);
}

/** Senders Twilio accepts in `From`: a phone number, a short code or an alphanumeric ID. */
export function isValidSender(value: string): boolean {
  return E164.test(value) || SHORT_CODE.test(value) || ALPHANUMERIC_SENDER.test(value);
}

/**
 * ISO country for the `FromCountry`/`ToCountry` webhook params. Only the calling codes
 * this project is likely to see are listed; Twilio sends "" when it cannot tell, and
 * so does the sandbox for everything else (+1 is reported as US, Canada included).
 */
const COUNTRY_BY_CALLING_CODE: Array<[string, string]> = [
  ["+1", "US"],
  ["+44", "GB"],
  ["+49", "DE"],
  ["+33", "FR"],
  ["+34", "ES"],
  ["+39", "IT"],
  ["+52", "MX"],
  ["+55", "BR"],
  ["+61", "AU"],
  ["+81", "JP"],
  ["+91", "IN"],
];

export function countryOf(e164: string): string {
  return COUNTRY_BY_CALLING_CODE.find(([prefix]) => e164.startsWith(prefix))?.[1] ?? "";
}
