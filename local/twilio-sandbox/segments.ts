/**
 * SMS segment counting, as Twilio reports it in `num_segments`: GSM-7 bodies fit 160
 * septets in one segment and 153 per part once concatenated; anything outside GSM-7
 * switches the whole message to UCS-2, 70 UTF-16 units alone or 67 per part.
 * Extension characters (€, [, ], …) cost two septets. Splitting an escape pair across
 * parts is ignored: a close approximation is enough for the sandbox.
 */

const GSM7_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
);
const GSM7_EXTENSION = new Set("^{}\\[~]|€\f");

/** Septets needed to send `body` in GSM-7, or null when it needs UCS-2. */
function gsm7Septets(body: string): number | null {
  let septets = 0;
  for (const char of body) {
    if (GSM7_BASIC.has(char)) septets += 1;
    else if (GSM7_EXTENSION.has(char)) septets += 2;
    else return null;
  }
  return septets;
}

export function countSegments(body: string): number {
  const septets = gsm7Septets(body);
  if (septets !== null) return septets <= 160 ? 1 : Math.ceil(septets / 153);
  // UCS-2 limits count UTF-16 code units, so an emoji takes two.
  return body.length <= 70 ? 1 : Math.ceil(body.length / 67);
}
