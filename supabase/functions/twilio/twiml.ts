/** TwiML answers: an empty <Response/>, or one <Message> (our confirmation or help text). */

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => XML_ESCAPES[ch]);
}

export function twiml(message: string | null): string {
  const head = '<?xml version="1.0" encoding="UTF-8"?>';
  return message === null || message === ""
    ? `${head}<Response/>`
    : `${head}<Response><Message>${escapeXml(message)}</Message></Response>`;
}
