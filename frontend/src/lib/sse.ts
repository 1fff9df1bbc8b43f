/**
 * Server-sent events over fetch + ReadableStream (EventSource can neither POST nor send a header).
 * SSEParser follows the WHATWG event-stream rules; generationEvents() types the contract's events.
 */
import { errorFromResponse, ApiError } from "../api/errors";
import type { DeltaEvent, ErrorEvent, Message, StartEvent } from "../api/types";
import { getToken } from "./authStore";
import { handleUnauthorized } from "../api/client";

export interface SSEMessage {
  /** The `event:` field, "message" when absent. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last `id:` seen so far (what a reconnect sends as Last-Event-ID), or null. */
  id: string | null;
}

export interface SSEParserHandlers {
  onEvent: (message: SSEMessage) => void;
  /** A comment line (`: ping` heartbeats); the stream is alive. */
  onComment?: (text: string) => void;
  /** The server asked for this reconnection delay (ms). */
  onRetry?: (ms: number) => void;
}

/** Incremental parser: feed it text cut anywhere (mid-line, mid-CRLF) and it emits whole events. */
export class SSEParser {
  private buffer = "";
  private skipLeadingLF = false;
  private data: string[] = [];
  private eventType = "";
  private sawData = false;
  lastEventId: string | null = null;

  constructor(private readonly handlers: SSEParserHandlers) {}

  feed(chunk: string): void {
    let text = chunk;
    // A CR ended the previous chunk: an LF opening this one belongs to the same line break.
    if (this.skipLeadingLF) {
      if (text.startsWith("\n")) text = text.slice(1);
      this.skipLeadingLF = false;
    }
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const char = this.buffer[i];
      if (char !== "\n" && char !== "\r") continue;
      this.processLine(this.buffer.slice(start, i));
      if (char === "\r") {
        if (i + 1 === this.buffer.length) this.skipLeadingLF = true;
        else if (this.buffer[i + 1] === "\n") i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  /** End of stream: an event without its blank line is incomplete and is dropped, as the spec says. */
  end(): void {
    this.buffer = "";
    this.resetEvent();
  }

  private processLine(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) {
      this.handlers.onComment?.(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data.push(value);
        this.sawData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    if (this.sawData) {
      this.handlers.onEvent({
        event: this.eventType || "message",
        data: this.data.join("\n"),
        id: this.lastEventId,
      });
    }
    this.resetEvent();
  }

  private resetEvent(): void {
    this.data = [];
    this.eventType = "";
    this.sawData = false;
  }
}

/** Yields the events of a byte stream, decoding UTF-8 across chunk boundaries. */
export async function* readSSE(
  body: ReadableStream<Uint8Array>,
  handlers: Omit<SSEParserHandlers, "onEvent"> = {},
): AsyncGenerator<SSEMessage> {
  const queue: SSEMessage[] = [];
  const parser = new SSEParser({ ...handlers, onEvent: (message) => queue.push(message) });
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        parser.feed(decoder.decode());
        parser.end();
        yield* queue.splice(0);
        return;
      }
      parser.feed(decoder.decode(value, { stream: true }));
      yield* queue.splice(0);
    }
  } finally {
    // Stopping early (abort, break) releases the connection.
    reader.cancel().catch(() => undefined);
  }
}

/**
 * `event: repair` (issue 17): after a checked answer's `done`, the same stream goes on with its automatic repair,
 * a new version (sibling) of that answer: this event, the repair's deltas (ids are offsets in its text), its own
 * `done` or `error`. Written from docs/api.md until the backend's OpenAPI describes the stream's events.
 */
export interface RepairEvent {
  message_id: string;
  repair_of: string;
  conversation_id: string;
  parent_id: string | null;
  model_id: string | null;
  /** How many problems the checked answer's code had. */
  problems: number;
}

export type GenerationEvent =
  | { type: "start"; data: StartEvent; id: string | null }
  | { type: "repair"; data: RepairEvent; id: string | null }
  | { type: "delta"; data: DeltaEvent; id: string | null }
  | { type: "done"; data: Message; id: string | null }
  | { type: "error"; data: ErrorEvent; id: string | null };

export interface StreamRequest {
  method?: "GET" | "POST";
  body?: unknown;
  signal?: AbortSignal;
  lastEventId?: string | null;
  onHeartbeat?: () => void;
}

const KNOWN_EVENTS = new Set(["start", "repair", "delta", "done", "error"]);

/**
 * Opens a generation stream. A request refused before the generation starts answers with an HTTP
 * error: that rejects with an ApiError (problem+json) before any event is yielded.
 */
export async function* generationEvents(path: string, request: StreamRequest = {}): AsyncGenerator<GenerationEvent> {
  const headers = new Headers({ Accept: "text/event-stream" });
  const token = getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  if (request.body !== undefined) headers.set("Content-Type", "application/json");
  if (request.lastEventId) headers.set("Last-Event-ID", request.lastEventId);
  const init: RequestInit = {
    method: request.method ?? (request.body === undefined ? "GET" : "POST"),
    headers,
    body: request.body === undefined ? null : JSON.stringify(request.body),
    signal: request.signal ?? null,
    cache: "no-store",
  };
  const httpRequest = new Request(new URL(path, globalThis.location.href), init);
  const response = await fetch(httpRequest);
  if (!response.ok) {
    handleUnauthorized(httpRequest, response);
    throw await errorFromResponse(response);
  }
  if (!response.body || !(response.headers.get("Content-Type") ?? "").includes("text/event-stream")) {
    throw new ApiError({ status: response.status, code: "unexpected_response", detail: "The server did not answer with a stream." });
  }
  const onComment = request.onHeartbeat ? () => request.onHeartbeat?.() : undefined;
  for await (const message of readSSE(response.body, onComment ? { onComment } : {})) {
    if (!KNOWN_EVENTS.has(message.event)) continue;
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch {
      continue; // a malformed event must not kill a long answer
    }
    yield { type: message.event, data, id: message.id } as GenerationEvent;
  }
}
