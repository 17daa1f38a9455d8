/**
 * Each function's OpenAPI document, built from the same route definitions (zod schemas,
 * through @hono/zod-openapi) that validate its requests: served by the function at
 * `/functions/v1/<name>/openapi.json` and by the `docs` function beside the others.
 */
import { OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { REQUIRED_SCHEMA_VERSION } from "./schema-version.ts";

export type OpenApiDocument = ReturnType<OpenAPIHono["getOpenAPIDocument"]>;

export function openApiDocument(
  name: string,
  title: string,
  description: string,
  routes: readonly RouteConfig[],
): OpenApiDocument {
  const app = new OpenAPIHono();
  for (const route of routes) app.openAPIRegistry.registerPath(route);
  return app.getOpenAPIDocument({
    openapi: "3.0.0",
    info: { title: `SMS Control Tower — ${title}`, version: REQUIRED_SCHEMA_VERSION, description },
    servers: [{ url: `/functions/v1/${name}` }],
  });
}
