/** The typed API client (openapi-fetch over the generated schema) with the bearer token and 401 handling. */
import createClient from "openapi-fetch";
import { refreshAfterUnauthorized, sessionMiddleware } from "../lib/session";
import { errorFromBody } from "./errors";
import type { ApiPaths } from "./types";

/**
 * A 401 on an authenticated call (a stream's start) means the token expired or was revoked: the session is
 * refreshed once; when it has ended, the route guard sends the user to sign-in, remembering where they were.
 */
export function handleUnauthorized(request: Request, response: Response): void {
  if (response.status === 401 && request.headers.has("Authorization")) {
    void refreshAfterUnauthorized(request.headers.get("Authorization"));
  }
}

export const api = createClient<ApiPaths>({
  baseUrl: globalThis.location.origin,
  // Looked up per call (not captured once), so tests and polyfills can replace fetch.
  fetch: (request) => globalThis.fetch(request),
});
// The bearer token on every call; after a 401, one silent refresh and the call again (lib/session.ts).
api.use(sessionMiddleware);

/** Unwraps an openapi-fetch result: the data, or an ApiError built from the problem+json body. */
export async function unwrap<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw errorFromBody(error, response);
  return data as T;
}
