/**
 * Error bodies in Twilio's documented shape, so the code under test parses sandbox
 * failures exactly like real ones: `{code, message, more_info, status}`.
 */

/** A request Twilio would refuse; thrown by validation and turned into a response. */
export class TwilioApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly detail?: string,
    /** Extra response headers (`Retry-After`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "TwilioApiError";
  }
}

export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

export function twilioErrorResponse(error: TwilioApiError): Response {
  const body: Record<string, unknown> = {
    code: error.code,
    message: error.message,
    more_info: `https://www.twilio.com/docs/errors/${error.code}`,
    status: error.status,
  };
  // Twilio adds `detail` to some errors (20003 among them); the SDKs surface it.
  if (error.detail) body.detail = error.detail;
  const headers: Record<string, string> = error.status === 401
    ? { "www-authenticate": 'Basic realm="Twilio API"', ...error.headers }
    : error.headers;
  return jsonResponse(body, error.status, headers);
}

export function notFound(path: string): TwilioApiError {
  return new TwilioApiError(404, 20404, `The requested resource ${path} was not found`);
}

export function methodNotAllowed(method: string): TwilioApiError {
  return new TwilioApiError(405, 20004, `Method ${method} not allowed`);
}
