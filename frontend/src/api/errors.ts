/** ApiError carries the backend's problem+json so pages can react to its stable `code`. */
import type { Problem } from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;
  readonly retryAfter: number | null;

  constructor(problem: Problem, retryAfter: number | null = null) {
    super(problem.detail ?? problem.title ?? `Request failed (${problem.status})`);
    this.name = "ApiError";
    this.status = problem.status;
    this.code = problem.code ?? statusCode(problem.status);
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  /** The message for one form field, from a validation error's `errors[].loc`. */
  fieldError(field: string): string | undefined {
    return this.problem.errors?.find((error) => error.loc.at(-1) === field)?.msg;
  }
}

function statusCode(status: number): string {
  if (status === 401) return "not_authenticated";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limited";
  if (status === 422) return "validation_error";
  return status === 0 ? "network_error" : "server_error";
}

/** Reads a failed Response into an ApiError, whatever its body is. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let problem: Problem = { status: response.status, title: response.statusText };
  try {
    const body: unknown = await response.clone().json();
    if (body && typeof body === "object") problem = { ...problem, ...(body as Partial<Problem>) };
  } catch {
    // not JSON (a proxy's HTML page): keep the status
  }
  problem.status = response.status;
  return new ApiError(problem, parseRetryAfter(response.headers.get("Retry-After")));
}

export function errorFromBody(body: unknown, response: Response): ApiError {
  const problem: Problem = {
    status: response.status,
    title: response.statusText,
    ...(body && typeof body === "object" ? (body as Partial<Problem>) : {}),
  };
  problem.status = response.status;
  return new ApiError(problem, parseRetryAfter(response.headers.get("Retry-After")));
}

function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.round((date - Date.now()) / 1000));
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
