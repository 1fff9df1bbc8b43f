/**
 * Domain types of the API. Where the backend's OpenAPI schema (schema.d.ts) already describes an
 * endpoint, the types come from it; the rest is written by hand from /work/shared/api-contract.md.
 *
 * PENDING (from the contract, not yet in openapi.json): models, conversations, messages, snippets, usage.
 * When an endpoint lands, run `npm run gen:api`: `ApiPaths` below prefers the generated path over the
 * pending one automatically; then delete its entry from `PendingPaths` and point the alias at
 * `components["schemas"][...]`.
 */
import type { components, paths } from "./schema";

type Schemas = components["schemas"];

// ---- Generated (backend already serves these) -------------------------------------------------

export type User = Schemas["UserPublic"];
export type ApiToken = Schemas["ApiTokenPublic"];
export type ApiTokenCreated = Schemas["ApiTokenCreated"];
export type TokenResponse = Schemas["TokenResponse"];

// ---- Shared shapes ----------------------------------------------------------------------------

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** RFC 9457 problem details as the backend writes them. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  errors?: { loc: (string | number)[]; msg: string }[];
}

// ---- PENDING: hand-written from the contract ---------------------------------------------------

export type Provider = "openai" | "vllm" | "openai_compatible";
export type ModelStatus = "unknown" | "ok" | "unreachable" | "unauthorized" | "model_not_found";

/** PENDING: Model (contract § Models). */
export interface Model {
  id: string;
  name: string;
  provider: Provider;
  model: string;
  base_url: string | null;
  context_window: number;
  /** USD per million tokens; null: unpriced. */
  input_cost_per_mtok: number | null;
  output_cost_per_mtok: number | null;
  priced?: boolean;
  owner: "system" | "user";
  /** The caller's default (the last model used while usable, else the system default when usable). */
  is_default: boolean;
  /** The caller can generate with it: a key where one is needed, and a configured server. */
  usable: boolean;
  has_api_key: boolean;
  lora_adapter: string | null;
  status: ModelStatus;
  checked_at: string | null;
}

export interface ModelCreate {
  name: string;
  provider: Provider;
  model: string;
  base_url?: string | null;
  api_key?: string | null;
  context_window?: number | null;
  input_cost_per_mtok?: number | null;
  output_cost_per_mtok?: number | null;
  lora_adapter?: string | null;
  /** Administrators only: offer the model to everyone. */
  system?: boolean;
}

/** Fields left out stay as they are; provider and adapter cannot change. */
export type ModelUpdate = Partial<Omit<ModelCreate, "provider" | "lora_adapter" | "system">>;

export interface ModelCheck {
  status: ModelStatus;
  latency_ms: number | null;
  detail: string;
}

export type MessageStatus =
  | "pending"
  | "streaming"
  | "complete"
  | "failed"
  | "cancelled"
  | "interrupted"
  | "rejected";

/** PENDING: Snippet (contract § Snippets). */
export interface Snippet {
  id: string;
  conversation_id: string;
  message_id: string;
  language: string | null;
  code: string;
  title: string | null;
  /** The file name to save it under: the one GET /snippets/{id}/raw sends (`add_numbers.py`). */
  filename: string;
  created_at: string;
}

/** PENDING: Message (contract § Conversations). */
export interface Message {
  id: string;
  conversation_id: string;
  parent_id: string | null;
  role: "user" | "assistant";
  kind: "request" | "feedback" | "generation";
  content: string;
  status: MessageStatus;
  error: { code: string; detail: string } | null;
  model_id: string | null;
  /** cost_usd is null when the model has no price. */
  usage: { prompt_tokens: number; completion_tokens: number; cost_usd: number | null } | null;
  snippets: Snippet[];
  created_at: string;
  completed_at: string | null;
}

/** PENDING: a conversation in lists (`preview` is the first snippet's first lines). */
export interface ConversationSummary {
  id: string;
  title: string;
  model_id: string | null;
  language: string | null;
  created_at: string;
  updated_at: string;
  preview?: string | null;
  /** Not in the contract; used when the backend sends it, else the detail view is counted. */
  message_count?: number;
}

export interface Conversation extends ConversationSummary {
  messages: Message[];
}

export interface ConversationCreate {
  prompt: string;
  model_id?: string;
  language?: string;
  stream?: boolean;
}

export interface MessageCreate {
  content: string;
  parent_id?: string;
  model_id?: string;
  stream?: boolean;
}

export interface RegenerateBody {
  model_id?: string;
  stream?: boolean;
}

/** PENDING: usage (contract § Usage, with the fields backend/codesmith/usage/schemas.py adds). */
export interface UsageRow {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}
export interface UsageTotals extends UsageRow {
  /** Requests on models without a known price: tokens, no cost. */
  unpriced_requests?: number;
  estimated_requests?: number;
}
export interface UsageByModel extends Omit<UsageRow, "cost_usd"> {
  model_id: string | null;
  model_name: string;
  /** null when the model has no price. */
  cost_usd: number | null;
  priced?: boolean;
}
export interface UsageByDay extends UsageRow {
  date: string;
}
export interface Usage {
  days?: number;
  totals: UsageTotals;
  by_model: UsageByModel[];
  by_day: UsageByDay[];
  /** 0 means unlimited. */
  limits: {
    requests_per_minute: number;
    tokens_per_day: number;
    tokens_used_today: number;
    tokens_left_today?: number | null;
    requests_left_this_minute?: number | null;
  };
  /** equivalent_gpu_hours: the GPU hours the period's API spend would have bought. */
  self_hosting: { gpu_hourly_usd: number; equivalent_gpu_hours: number; api_cost_usd?: number; days?: number };
}

// ---- Stream events (contract § Stream events) --------------------------------------------------

export interface StartEvent {
  conversation_id: string;
  message_id: string;
  parent_id: string | null;
  model_id: string | null;
}
export interface DeltaEvent {
  text: string;
}
export interface ErrorEvent {
  code: string;
  detail: string;
  message_id: string | null;
}

// ---- Pending paths, in openapi-typescript's shape so openapi-fetch types them -------------------

type Headers = { [name: string]: unknown };
type Json<T> = { headers: Headers; content: { "application/json": T } };
type Empty = { headers: Headers; content?: never };
type Body<T> = { content: { "application/json": T } };
type QueryParams<Query> = { query?: Query; header?: never; path?: never; cookie?: never };
type PathParams<Path> = { query?: never; header?: never; path: Path; cookie?: never };
type NoParams = { query?: never; header?: never; path?: never; cookie?: never };
type Op<P, R> = { parameters: P; requestBody?: never; responses: R };
type OpWithBody<P, R, B> = { parameters: P; requestBody: Body<B>; responses: R };
type ListQuery = { limit?: number; cursor?: string | null };
type ByModel = { model_id: string };
type ByConversation = { conversation_id: string };
type BySnippet = { snippet_id: string };
type ByMessage = { conversation_id: string; message_id: string };

export interface PendingPaths {
  "/api/v1/models": {
    parameters: NoParams;
    get: Op<QueryParams<ListQuery>, { 200: Json<Page<Model>> }>;
    post: OpWithBody<NoParams, { 201: Json<Model> }, ModelCreate>;
  };
  "/api/v1/models/{model_id}": {
    parameters: NoParams;
    get: Op<PathParams<ByModel>, { 200: Json<Model> }>;
    patch: OpWithBody<PathParams<ByModel>, { 200: Json<Model> }, ModelUpdate>;
    delete: Op<PathParams<ByModel>, { 204: Empty }>;
  };
  "/api/v1/models/{model_id}/check": {
    parameters: NoParams;
    post: Op<PathParams<ByModel>, { 200: Json<ModelCheck> }>;
  };
  "/api/v1/conversations": {
    parameters: NoParams;
    get: Op<QueryParams<ListQuery & { q?: string }>, { 200: Json<Page<ConversationSummary>> }>;
    post: OpWithBody<NoParams, { 201: Json<Conversation> }, ConversationCreate>;
  };
  "/api/v1/conversations/{conversation_id}": {
    parameters: NoParams;
    get: Op<PathParams<ByConversation>, { 200: Json<Conversation> }>;
    patch: OpWithBody<PathParams<ByConversation>, { 200: Json<Conversation> }, { title: string }>;
    delete: Op<PathParams<ByConversation>, { 204: Empty }>;
  };
  "/api/v1/conversations/{conversation_id}/messages/{message_id}/cancel": {
    parameters: NoParams;
    post: Op<PathParams<ByMessage>, { 200: Json<Message> }>;
  };
  "/api/v1/snippets": {
    parameters: NoParams;
    get: Op<QueryParams<ListQuery & { q?: string; language?: string }>, { 200: Json<Page<Snippet>> }>;
  };
  "/api/v1/snippets/{snippet_id}": {
    parameters: NoParams;
    get: Op<PathParams<BySnippet>, { 200: Json<Snippet> }>;
  };
  "/api/v1/usage": {
    parameters: NoParams;
    get: Op<QueryParams<{ days?: number }>, { 200: Json<Usage> }>;
  };
}

/** Generated paths win over pending ones as soon as the backend describes them. */
export type ApiPaths = paths & Omit<PendingPaths, keyof paths>;
