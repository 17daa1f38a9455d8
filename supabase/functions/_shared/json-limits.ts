/**
 * Limits on JSON request bodies, checked before any handler parses them: at most
 * `maxBytes` (413), `application/json` only (415), nesting at most `maxDepth` deep and no
 * string (or key) longer than `maxString` characters (422 naming where). A body that is
 * not JSON at all is a 400.
 */
import type { MiddlewareHandler } from "hono";
import {
  BadRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "./errors.ts";

export interface JsonLimits {
  maxBytes: number;
  maxDepth: number;
  maxString: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = {
  maxBytes: 64 * 1024,
  maxDepth: 8,
  maxString: 10_000,
};

/** The first place `value` goes past the limits, as a path and a problem; null if none. */
export function jsonLimitProblem(
  value: unknown,
  limits: Pick<JsonLimits, "maxDepth" | "maxString">,
): { path: string; message: string } | null {
  type Problem = { path: string; message: string } | null;
  const visit = (node: unknown, path: string, depth: number): Problem => {
    if (typeof node === "string") {
      return node.length > limits.maxString
        ? { path, message: `a string of ${node.length} characters; at most ${limits.maxString}` }
        : null;
    }
    if (node === null || typeof node !== "object") return null;
    if (depth > limits.maxDepth) {
      return { path, message: `nested deeper than ${limits.maxDepth} levels` };
    }
    const entries: [string, unknown][] = Array.isArray(node)
      ? node.map((item, i) => [String(i), item])
      : Object.entries(node);
    for (const [key, child] of entries) {
      if (key.length > limits.maxString) {
        return { path, message: `a key of ${key.length} characters; at most ${limits.maxString}` };
      }
      const found = visit(
        child,
        path ? `${path}.${key}` : key,
        depth + 1,
      );
      if (found) return found;
    }
    return null;
  };
  return visit(value, "", 1);
}

/** Reads and checks a JSON body; an empty body reads as `empty`. */
export async function readJsonBody(
  req: Request,
  limits: JsonLimits = DEFAULT_JSON_LIMITS,
  empty: unknown = undefined,
): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limits.maxBytes) {
    throw new PayloadTooLargeError(`a JSON body is at most ${limits.maxBytes} bytes`);
  }
  const text = await req.text();
  if (new TextEncoder().encode(text).length > limits.maxBytes) {
    throw new PayloadTooLargeError(`a JSON body is at most ${limits.maxBytes} bytes`);
  }
  if (text.trim() === "" && empty !== undefined) return empty;
  const type = req.headers.get("content-type") ?? "";
  if (type !== "" && !/^application\/json\b/i.test(type)) {
    throw new UnsupportedMediaTypeError("the body must be application/json");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequestError("the body is not valid JSON");
  }
  const problem = jsonLimitProblem(value, limits);
  if (problem) throw new ValidationError([problem], "the JSON body is past this endpoint's limits");
  return value;
}

/** The same checks as middleware, for routes whose validator parses the body itself. */
export function jsonLimits(limits: JsonLimits = DEFAULT_JSON_LIMITS): MiddlewareHandler {
  return async (c, next) => {
    // Reading it here caches the text; the route's validator parses it again from there.
    await readJsonBody(c.req.raw.clone(), limits);
    await next();
  };
}
