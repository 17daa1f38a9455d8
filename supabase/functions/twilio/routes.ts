/**
 * The twilio function's routes as OpenAPI declares them, with the zod schemas its
 * handlers read the form parameters with (params.ts). Twilio signs each request
 * (X-Twilio-Signature) instead of sending a token.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponse } from "../_shared/error-schema.ts";
import { inboundParams, statusParams } from "./params.ts";

const signature = z.object({
  "x-twilio-signature": z.string().openapi({
    description: "Twilio's HMAC-SHA1 of the URL and the form parameters, with the auth token",
  }),
});

const refusals = {
  403: errorResponse("Missing or wrong X-Twilio-Signature: nothing read or written"),
  409: errorResponse("The same signed request long after Twilio's retries: a replay, ignored"),
  413: errorResponse("A body over 64 KiB"),
  415: errorResponse("Not application/x-www-form-urlencoded"),
  422: errorResponse("Signed, but without the parameters read (details name them)"),
  429: errorResponse("Too many refused requests from this address"),
} as const;

const twiml = {
  "text/xml": { schema: z.string().openapi({ example: "<Response/>" }) },
};

export const inboundRoute = createRoute({
  method: "post",
  path: "/inbound",
  summary: "An incoming SMS: recorded, keywords (STOP, START, HELP) acted on and answered",
  request: {
    headers: signature,
    body: {
      required: true,
      content: { "application/x-www-form-urlencoded": { schema: inboundParams } },
    },
  },
  responses: {
    200: { description: "TwiML: the keyword's answer, or an empty <Response/>", content: twiml },
    ...refusals,
  },
});

export const statusRoute = createRoute({
  method: "post",
  path: "/status",
  summary: "A status callback of a message we sent: its status moves forward only",
  request: {
    headers: signature,
    body: {
      required: true,
      content: { "application/x-www-form-urlencoded": { schema: statusParams } },
    },
  },
  responses: {
    200: { description: "Recorded (or nothing new): an empty <Response/>", content: twiml },
    ...refusals,
  },
});

export const twilioRoutes = [inboundRoute, statusRoute] as const;
export const TWILIO_DOC = {
  title: "Twilio webhooks",
  description: "What Twilio calls: incoming messages and status callbacks, signed by Twilio.",
};
