/**
 * Running generations, kept outside React so a stream survives route changes (new page → conversation)
 * and several views can watch it. Finished answers are written into the TanStack Query cache.
 */
import { useSyncExternalStore } from "react";
import { api, unwrap } from "../api/client";
import { ApiError, isApiError } from "../api/errors";
import { keys } from "../api/queries";
import type {
  ApiPaths,
  Conversation,
  ConversationCreate,
  Message,
  MessageCreate,
  RegenerateBody,
  StartEvent,
} from "../api/types";
import { queryClient } from "./queryClient";
import { generationEvents, type GenerationEvent, type RepairEvent } from "./sse";

export interface LiveGeneration {
  conversationId: string;
  messageId: string;
  parentId: string | null;
  text: string;
  /** "connecting" until the first event of a (re-)attached stream arrives. */
  phase: "connecting" | "streaming";
}

const live = new Map<string, LiveGeneration>();
const controllers = new Map<string, AbortController>();
const listeners = new Set<() => void>();
let snapshot = new Map(live);

function publish(): void {
  snapshot = new Map(live);
  listeners.forEach((listener) => listener());
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The live state of one message, or undefined when nothing streams for it in this tab. */
export function useLiveGeneration(messageId: string | undefined): LiveGeneration | undefined {
  return useSyncExternalStore(
    subscribe,
    () => (messageId ? snapshot.get(messageId) : undefined),
    () => undefined,
  );
}

export function isLive(messageId: string): boolean {
  return live.has(messageId);
}

const repairListeners = new Set<(repair: RepairEvent) => void>();

/** Called when a stream goes on with an automatic repair (its placeholder is already in the cache). */
export function onRepairStarted(listener: (repair: RepairEvent) => void): () => void {
  repairListeners.add(listener);
  return () => repairListeners.delete(listener);
}

const base = "/api/v1/conversations";
const MAX_REATTACHES = 3;

/**
 * Starts a generation (create, feedback or regenerate with `stream: true`). Resolves with the `start`
 * event; rejects with an ApiError when the server refuses the request before it starts.
 * The rest of the stream keeps running in the background.
 */
/** The three requests that start a generation, typed by the API's own schema (their `stream` is set here). */
export type GenerationRequest =
  | { kind: "create"; body: Omit<ConversationCreate, "stream"> }
  | { kind: "feedback"; conversationId: string; body: Omit<MessageCreate, "stream"> }
  | { kind: "regenerate"; conversationId: string; messageId: string; body: Omit<RegenerateBody, "stream"> };

const GENERATION_PATHS = {
  create: "/api/v1/conversations",
  feedback: "/api/v1/conversations/{conversation_id}/messages",
  regenerate: "/api/v1/conversations/{conversation_id}/messages/{message_id}/regenerate",
} as const satisfies Record<GenerationRequest["kind"], keyof ApiPaths>;

export function generationPath(request: GenerationRequest): string {
  const template: string = GENERATION_PATHS[request.kind];
  if (request.kind === "create") return template;
  const path = template.replace("{conversation_id}", encodeURIComponent(request.conversationId));
  return request.kind === "regenerate" ? path.replace("{message_id}", encodeURIComponent(request.messageId)) : path;
}

export function startGeneration(request: GenerationRequest, onStart?: (start: StartEvent) => void): Promise<StartEvent> {
  return new Promise<StartEvent>((resolve, reject) => {
    const controller = new AbortController();
    const state: { started: StartEvent | null } = { started: null };
    const body = { ...request.body, stream: true };
    const events = generationEvents(generationPath(request), { body, signal: controller.signal });
    void consume(events, {
      controller,
      onStart: (start) => {
        state.started = start;
        onStart?.(start);
        resolve(start);
      },
    })
      .then((outcome) => {
        const started = state.started;
        if (started) return finishOrReattach(started.conversation_id, outcome.messageId ?? started.message_id, outcome);
        reject(
          outcome.kind === "error"
            ? new ApiError({ status: 422, code: outcome.code, detail: outcome.detail })
            : new ApiError({ status: 0, code: "network_error", detail: "The stream ended before the answer started." }),
        );
      })
      .catch((error: unknown) => {
        const started = state.started;
        if (!started) reject(error);
        else void finishOrReattach(started.conversation_id, started.message_id, { kind: "dropped" });
      });
  });
}

/** Re-attaches to a generation that runs on the server (after a reload, or a dropped connection). */
export function attachGeneration(conversationId: string, messageId: string, lastEventId: string | null = null): void {
  if (controllers.has(messageId)) return;
  void reattach(conversationId, messageId, lastEventId, 0);
}

async function reattach(conversationId: string, messageId: string, lastEventId: string | null, attempt: number): Promise<void> {
  const controller = new AbortController();
  const previous = live.get(messageId);
  live.set(messageId, {
    conversationId,
    messageId,
    parentId: previous?.parentId ?? null,
    text: previous?.text ?? cachedMessage(conversationId, messageId)?.content ?? "",
    phase: "connecting",
  });
  publish();
  const path = `${base}/${conversationId}/messages/${messageId}/stream`;
  let outcome: Tracked;
  try {
    outcome = await consume(generationEvents(path, { signal: controller.signal, lastEventId }), {
      controller,
      messageId,
      replayFirstDelta: true,
    });
  } catch (error) {
    outcome = isApiError(error) && error.status !== 0 ? { kind: "gone" } : { kind: "dropped" };
  }
  // After a repair event the stream was about the repair: that is the message to finish or re-attach to.
  await finishOrReattach(conversationId, outcome.messageId ?? messageId, outcome, attempt + 1);
}

/** Stops a generation: the server keeps the partial answer as `cancelled`. */
export async function stopGeneration(conversationId: string, messageId: string): Promise<void> {
  try {
    const message = await unwrap(
      api.POST("/api/v1/conversations/{conversation_id}/messages/{message_id}/cancel", {
        params: { path: { conversation_id: conversationId, message_id: messageId } },
      }),
    );
    upsertMessage(conversationId, message);
  } finally {
    controllers.get(messageId)?.abort();
    forget(messageId);
    void queryClient.invalidateQueries({ queryKey: keys.conversation(conversationId) });
  }
}

type Outcome =
  | { kind: "done"; message: Message }
  | { kind: "error"; code: string; detail: string }
  | { kind: "dropped"; lastEventId?: string | null }
  | { kind: "aborted" }
  | { kind: "gone" };

/** An outcome, and the message it is about when the stream switched to an automatic repair. */
type Tracked = Outcome & { messageId?: string };

interface ConsumeOptions {
  controller: AbortController;
  messageId?: string;
  onStart?: (start: StartEvent) => void;
  /** A re-attached stream first sends the whole content so far as one delta. */
  replayFirstDelta?: boolean;
}

/**
 * Reads a generation's stream to its end. A `done` settles that answer at once, but the reading goes on: the
 * server may continue with `repair` (the answer's code failed its check) and the repair's own deltas and `done`.
 */
async function consume(events: AsyncGenerator<GenerationEvent>, options: ConsumeOptions): Promise<Tracked> {
  let messageId = options.messageId;
  let lastEventId: string | null = null;
  let firstDelta = true;
  let settled: Message | null = null;
  if (messageId) controllers.set(messageId, options.controller);
  try {
    for await (const event of events) {
      lastEventId = event.id ?? lastEventId;
      switch (event.type) {
        case "start": {
          messageId = event.data.message_id;
          controllers.set(messageId, options.controller);
          live.set(messageId, {
            conversationId: event.data.conversation_id,
            messageId,
            parentId: event.data.parent_id,
            text: "",
            phase: "streaming",
          });
          publish();
          options.onStart?.(event.data);
          break;
        }
        case "delta": {
          const current = messageId ? live.get(messageId) : undefined;
          if (!current) break;
          const replace = options.replayFirstDelta && firstDelta && event.data.text.startsWith(current.text);
          live.set(current.messageId, {
            ...current,
            text: replace ? event.data.text : current.text + event.data.text,
            phase: "streaming",
          });
          firstDelta = false;
          publish();
          break;
        }
        case "repair": {
          if (messageId && live.has(messageId) && settled === null) break; // a repair of an unfinished answer: not ours
          messageId = event.data.message_id;
          settled = null;
          firstDelta = false; // the repair's text starts empty: its deltas append
          lastEventId = null;
          startRepair(event.data, options.controller);
          break;
        }
        case "done":
          if (settled) break;
          settled = event.data;
          if (messageId) settle(event.data.conversation_id, messageId, event.data);
          break;
        case "error":
          return { kind: "error", code: event.data.code, detail: event.data.detail, ...(messageId ? { messageId } : {}) };
      }
    }
    if (settled) return { kind: "done", message: settled, ...(messageId ? { messageId } : {}) };
    return { kind: "dropped", lastEventId, ...(messageId ? { messageId } : {}) };
  } catch (error) {
    if (settled) return { kind: "done", message: settled, ...(messageId ? { messageId } : {}) };
    if (options.controller.signal.aborted) return { kind: "aborted", ...(messageId ? { messageId } : {}) };
    if (!messageId) throw error;
    return { kind: "dropped", lastEventId, messageId };
  }
}

/** A finished answer: into the cache, out of the live map (its stream may go on with a repair). */
function settle(conversationId: string, messageId: string, message: Message): void {
  upsertMessage(conversationId, message);
  controllers.delete(messageId);
  forget(messageId);
  refreshLists();
}

/** The repair's version appears at once (a placeholder sibling, streaming) and the views are told to show it. */
function startRepair(repair: RepairEvent, controller: AbortController): void {
  controllers.set(repair.message_id, controller);
  live.set(repair.message_id, {
    conversationId: repair.conversation_id,
    messageId: repair.message_id,
    parentId: repair.parent_id,
    text: "",
    phase: "streaming",
  });
  upsertMessage(
    repair.conversation_id,
    placeholderMessage({
      id: repair.message_id,
      conversation_id: repair.conversation_id,
      role: "assistant",
      parent_id: repair.parent_id,
      model_id: repair.model_id,
      repair_of: repair.repair_of,
    }),
  );
  publish();
  repairListeners.forEach((listener) => listener(repair));
}

async function finishOrReattach(conversationId: string, messageId: string, outcome: Tracked, attempt = 0): Promise<void> {
  controllers.delete(messageId);
  switch (outcome.kind) {
    case "done":
      upsertMessage(conversationId, outcome.message);
      forget(messageId);
      refreshLists();
      return;
    case "error": {
      const partial = live.get(messageId)?.text;
      patchMessage(conversationId, messageId, (message) => ({
        ...message,
        content: partial ?? message.content,
        status: outcome.code === "not_a_code_request" || outcome.code === "no_code_in_answer" ? "rejected" : "failed",
        error: { code: outcome.code, detail: outcome.detail },
      }));
      forget(messageId);
      void queryClient.invalidateQueries({ queryKey: keys.conversation(conversationId) });
      refreshLists();
      return;
    }
    case "dropped":
      if (attempt < MAX_REATTACHES && live.has(messageId)) {
        await delay(500 * 2 ** attempt);
        if (live.has(messageId)) return reattach(conversationId, messageId, outcome.lastEventId ?? null, attempt);
      }
      forget(messageId);
      void queryClient.invalidateQueries({ queryKey: keys.conversation(conversationId) });
      return;
    case "aborted":
    case "gone":
      forget(messageId);
      void queryClient.invalidateQueries({ queryKey: keys.conversation(conversationId) });
  }
}

function forget(messageId: string): void {
  controllers.delete(messageId);
  if (live.delete(messageId)) publish();
}

function refreshLists(): void {
  void queryClient.invalidateQueries({ queryKey: ["conversations"] });
  void queryClient.invalidateQueries({ queryKey: ["snippets"] });
  void queryClient.invalidateQueries({ queryKey: ["usage"] });
}

function cachedMessage(conversationId: string, messageId: string): Message | undefined {
  return queryClient
    .getQueryData<Conversation>(keys.conversation(conversationId))
    ?.messages.find((message) => message.id === messageId);
}

/** Puts a message into the cached conversation, replacing the one with its id. */
export function upsertMessage(conversationId: string, message: Message): void {
  queryClient.setQueryData<Conversation>(keys.conversation(conversationId), (old) => {
    if (!old) return old;
    const exists = old.messages.some((item) => item.id === message.id);
    return {
      ...old,
      messages: exists
        ? old.messages.map((item) => (item.id === message.id ? message : item))
        : [...old.messages, message],
    };
  });
}

function patchMessage(conversationId: string, messageId: string, patch: (message: Message) => Message): void {
  const message = cachedMessage(conversationId, messageId);
  if (message) upsertMessage(conversationId, patch(message));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A message shell for the cache while its real row streams in. */
export function placeholderMessage(fields: Partial<Message> & Pick<Message, "id" | "conversation_id" | "role">): Message {
  return {
    parent_id: null,
    kind: fields.role === "user" ? "feedback" : "generation",
    content: "",
    status: fields.role === "user" ? "complete" : "streaming",
    error: null,
    model_id: null,
    usage: null,
    snippets: [],
    repair_of: null,
    created_at: new Date().toISOString(),
    completed_at: null,
    ...fields,
  };
}
