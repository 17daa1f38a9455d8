/**
 * The sandbox's own control routes under `/_sandbox`, used by tests and developers
 * to steer the simulated carrier and to see what the code under test sent.
 */
import type { OutboundMessage } from "./carrier.ts";
import { parseConfigPatch } from "./config.ts";
import { jsonResponse, methodNotAllowed, notFound } from "./errors.ts";
import { handleInbound } from "./inbound.ts";
import { type SandboxState, updateConfig } from "./state.ts";

export async function handleControl(
  req: Request,
  url: URL,
  state: SandboxState,
): Promise<Response> {
  switch (url.pathname) {
    case "/_sandbox/messages":
      if (req.method === "GET") return listMessages(url, state);
      if (req.method === "DELETE") return clearMessages(state);
      throw methodNotAllowed(req.method);
    case "/_sandbox/config":
      if (req.method === "GET") return jsonResponse(state.config);
      if (req.method === "POST") return await changeConfig(req, state);
      throw methodNotAllowed(req.method);
    case "/_sandbox/inbound":
      if (req.method === "POST") return await handleInbound(req, state);
      throw methodNotAllowed(req.method);
    default:
      throw notFound(url.pathname);
  }
}

/**
 * Accepted messages, oldest first, with their status now, when each was accepted (to the
 * millisecond), every callback attempt and the recipient's simulated reply (or null).
 */
function listMessages(url: URL, state: SandboxState): Response {
  const to = url.searchParams.get("to");
  const messages = [...state.messages.values()]
    .filter((message) => to === null || message.resource.to === to)
    .map(describeMessage);
  return jsonResponse({ messages });
}

function describeMessage(message: OutboundMessage) {
  return {
    ...message.resource,
    accepted_at: message.acceptedAt.toISOString(),
    status_callback: message.statusCallback,
    callbacks: message.callbacks,
    reply: message.reply,
  };
}

/** Also cancels pending callbacks, so nothing from an earlier test arrives in the next one. */
function clearMessages(state: SandboxState): Response {
  const deleted = state.messages.size;
  state.tasks.cancelAll();
  state.messages.clear();
  state.limiter.clear();
  return jsonResponse({ deleted });
}

async function changeConfig(req: Request, state: SandboxState): Promise<Response> {
  const body = await req.json().catch(() => undefined);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return jsonResponse({ error: "config must be a JSON object", issues: [] }, 400);
  }
  const parsed = parseConfigPatch(body);
  if (!parsed.ok) {
    const summary = parsed.issues.map((i) => `${i.field}: ${i.message}`).join("; ");
    return jsonResponse({ error: `invalid config: ${summary}`, issues: parsed.issues }, 400);
  }
  updateConfig(state, parsed.patch);
  return jsonResponse(state.config);
}
