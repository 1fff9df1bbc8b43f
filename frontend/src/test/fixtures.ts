import type { Conversation, Message, Model, Snippet, User } from "../api/types";

export const user: User = {
  id: "u1",
  email: "ada@example.com",
  is_admin: false,
  has_openai_key: true,
  openai_key_hint: "sk-…abcd",
  openai_key_verified: true,
  created_at: "2025-01-01T00:00:00Z",
  retention_days: null,
  retention_limit_days: null,
  auto_repair: true,
  auto_repair_available: true,
};

export function model(fields: Partial<Model> = {}): Model {
  return {
    id: "m-gpt",
    name: "GPT-4o mini",
    provider: "openai",
    model: "gpt-4o-mini",
    base_url: null,
    context_window: 128000,
    input_cost_per_mtok: 0.15,
    output_cost_per_mtok: 0.6,
    owner: "system",
    is_default: true,
    usable: true,
    priced: true,
    has_api_key: false,
    lora_adapter: null,
    status: "ok",
    checked_at: null,
    ...fields,
  };
}

let tick = 0;
export function message(fields: Partial<Message> & Pick<Message, "id">): Message {
  tick += 1;
  return {
    conversation_id: "c1",
    parent_id: null,
    role: "assistant",
    kind: "generation",
    content: "",
    status: "complete",
    error: null,
    model_id: "m-gpt",
    usage: null,
    snippets: [],
    repair_of: null,
    created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, tick)).toISOString(),
    completed_at: null,
    ...fields,
  };
}

export function conversation(messages: Message[], fields: Partial<Conversation> = {}): Conversation {
  return {
    id: "c1",
    title: "Parse ISO dates",
    model_id: "m-gpt",
    language: "python",
    source: "app",
    created_at: "2025-01-01T00:00:00Z",
    updated_at: "2025-01-01T00:00:00Z",
    messages,
    ...fields,
  };
}

export function page<T>(items: T[], next_cursor: string | null = null) {
  return { items, next_cursor };
}

export function snippet(fields: Partial<Snippet> & Pick<Snippet, "code">): Snippet {
  return {
    id: `s-${fields.code.length}`,
    conversation_id: "c1",
    message_id: "a1",
    language: "python",
    title: "snippet",
    filename: "snippet.py",
    created_at: "2025-01-01T00:00:00Z",
    check: { status: "unchecked", checker: null, diagnostics: [] },
    ...fields,
  };
}
