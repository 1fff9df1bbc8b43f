/** Files from the API: fetched with the session's token (a plain link would carry none), saved as a Blob. */
import { handleUnauthorized } from "../api/client";
import { errorFromBody, errorFromResponse } from "../api/errors";
import { getToken } from "./authStore";

/** The file name a `Content-Disposition` header offers (RFC 6266: `filename*` wins over `filename`). */
export function filenameFrom(disposition: string | null): string | null {
  if (!disposition) return null;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
  if (extended?.[1]) {
    try {
      return basename(decodeURIComponent(extended[1].trim()));
    } catch {
      // malformed escapes: fall back to the plain name
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/.exec(disposition);
  const name = plain?.[1]?.replace(/\\(.)/g, "$1") ?? plain?.[2]?.trim();
  return name ? basename(name) : null;
}

// A server's name never chooses a folder.
function basename(name: string): string {
  return name.split(/[\\/]/).pop() || name;
}

export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Revoked later: some browsers start reading the URL only after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Saves a `parseAs: "blob"` answer of the API client under the server's file name; returns that name. */
export async function saveDownload(
  pending: Promise<{ data?: Blob; error?: unknown; response: Response }>,
  fallbackName: string,
): Promise<string> {
  const { data, error, response } = await pending;
  if (!response.ok || !data) throw errorFromBody(error, response);
  const name = filenameFrom(response.headers.get("Content-Disposition")) ?? fallbackName;
  saveBlob(data, name);
  return name;
}

/**
 * Saves a file the generated client does not describe yet (the snippets' zip, issue 17), fetched with the
 * session's token; returns the name it was saved under.
 */
export async function saveApiFile(path: string, fallbackName: string): Promise<string> {
  const headers = new Headers();
  const token = getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const request = new Request(new URL(path, globalThis.location.href), { headers, cache: "no-store" });
  const response = await fetch(request);
  if (!response.ok) {
    handleUnauthorized(request, response);
    throw await errorFromResponse(response);
  }
  const name = filenameFrom(response.headers.get("Content-Disposition")) ?? fallbackName;
  saveBlob(await response.blob(), name);
  return name;
}

/** The zip of a conversation's snippets, or of one version's (`messageId`). */
export function snippetsZipPath(conversationId: string, messageId?: string): string {
  const path = `/api/v1/conversations/${encodeURIComponent(conversationId)}/snippets.zip`;
  return messageId ? `${path}?message_id=${encodeURIComponent(messageId)}` : path;
}
