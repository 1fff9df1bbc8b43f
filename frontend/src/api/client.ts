/** The typed API client (openapi-fetch over the generated schema) with the bearer token and 401 handling. */
import createClient, { type Middleware } from "openapi-fetch";
import { getToken, setToken } from "../lib/authStore";
import { errorFromBody } from "./errors";
import type { ApiPaths } from "./types";

/**
 * A 401 on an authenticated call means the token expired or was revoked: forget it, and the route
 * guard sends the user to sign-in, remembering where they were.
 */
export function handleUnauthorized(request: Request, response: Response): void {
  if (response.status === 401 && request.headers.has("Authorization")) setToken(null);
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token && !request.headers.has("Authorization")) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ request, response }) {
    handleUnauthorized(request, response);
    return response;
  },
};

export const api = createClient<ApiPaths>({
  baseUrl: globalThis.location.origin,
  // Looked up per call (not captured once), so tests and polyfills can replace fetch.
  fetch: (request) => globalThis.fetch(request),
});
api.use(auth);

/** Unwraps an openapi-fetch result: the data, or an ApiError built from the problem+json body. */
export async function unwrap<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw errorFromBody(error, response);
  return data as T;
}
