/**
 * What every spec shares: the fake upstream's knobs, fresh accounts made through the API, a signed-in
 * page, and small helpers over the real backend's API.
 */
import { randomUUID } from "node:crypto";
import { test as base, expect, type APIRequestContext, type Browser, type Locator, type Page } from "@playwright/test";

export { expect };

/** The OpenAI key the specs sign up with; the fake answers 401 to any other. */
export const OPENAI_KEY = "sk-e2e-0123456789abcdefWXYZ";
export const PASSWORD = "correct horse battery";
const FAKE_URL = process.env.E2E_FAKE_URL ?? "";

/** The fake upstream's knobs (tests/fakes/upstream.py, `Behaviour`). */
export interface Behaviour {
  reply?: string;
  token_delay?: number;
  first_token_delay?: number;
  fail_after_tokens?: number | null;
  status?: number | null;
  require_key?: string | null;
  models?: string[];
  include_usage?: boolean;
  /** Follow "[[reply:not_code]]", "[[reply:prose]]", "[[reply:long]]" in the prompt (default true). */
  directives?: boolean;
  /** Answers given in turn, one per chat request, before `reply` answers the rest. */
  replies?: string[];
}

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
}

export class FakeUpstream {
  readonly url = FAKE_URL;

  constructor(private readonly request: APIRequestContext) {}

  async set(changes: Behaviour & { reset?: boolean }): Promise<void> {
    const response = await this.request.post(`${this.url}/_fake/behaviour`, { data: changes });
    expect(response.ok(), `the fake upstream at ${this.url} refused ${JSON.stringify(changes)}`).toBe(true);
  }

  /** Back to the defaults every spec starts from: the OpenAI models exist and demand OPENAI_KEY. */
  async reset(): Promise<void> {
    await this.set({ reset: true, models: ["fake-coder", "gpt-4o-mini", "gpt-4.1-mini"], require_key: OPENAI_KEY });
  }

  /** The chat requests the fake received since the last reset, oldest first. */
  async chatRequests(): Promise<ChatRequest[]> {
    const response = await this.request.get(`${this.url}/_fake/requests`);
    return ((await response.json()) as { requests: ChatRequest[] }).requests;
  }
}

export interface Account {
  email: string;
  password: string;
  token: string;
}

/** The real backend's API, as one signed-in user. */
export class Api {
  constructor(
    private readonly request: APIRequestContext,
    readonly account: Account,
  ) {}

  private get headers() {
    return { Authorization: `Bearer ${this.account.token}` };
  }

  async get<T>(path: string): Promise<T> {
    const response = await this.request.get(`/api/v1${path}`, { headers: this.headers });
    expect(response.status(), `GET ${path}: ${await response.text()}`).toBe(200);
    return (await response.json()) as T;
  }

  async post<T>(path: string, data: unknown, status = 201): Promise<T> {
    const response = await this.request.post(`/api/v1${path}`, { headers: this.headers, data });
    expect(response.status(), `POST ${path}: ${await response.text()}`).toBe(status);
    return (await response.json()) as T;
  }

  async put<T>(path: string, data: unknown): Promise<T> {
    const response = await this.request.put(`/api/v1${path}`, { headers: this.headers, data });
    expect(response.status(), `PUT ${path}: ${await response.text()}`).toBe(200);
    return (await response.json()) as T;
  }

  /** A whole conversation made without the browser (`stream: false`): the answer is complete on return. */
  createConversation(prompt: string, extra: Record<string, unknown> = {}): Promise<Conversation> {
    return this.post<Conversation>("/conversations", { prompt, stream: false, ...extra });
  }

  conversation(id: string): Promise<Conversation> {
    return this.get<Conversation>(`/conversations/${id}`);
  }
}

export interface Message {
  id: string;
  parent_id: string | null;
  role: "user" | "assistant";
  kind: string;
  content: string;
  status: string;
  error: { code: string; detail: string } | null;
  model_id: string | null;
  usage: { prompt_tokens: number; completion_tokens: number; cost_usd: number | null } | null;
  snippets: { id: string; language: string; code: string; title: string | null }[];
}

export interface Conversation {
  id: string;
  title: string;
  messages: Message[];
}

export async function registerAccount(
  request: APIRequestContext,
  { email = uniqueEmail(), openaiKey = OPENAI_KEY }: { email?: string; openaiKey?: string | null } = {},
): Promise<Account> {
  const registered = await request.post("/api/v1/auth/register", {
    data: { email, password: PASSWORD, ...(openaiKey ? { openai_api_key: openaiKey } : {}) },
  });
  expect(registered.status(), await registered.text()).toBe(201);
  return { email, password: PASSWORD, token: await signInToken(request, email, PASSWORD) };
}

export async function signInToken(request: APIRequestContext, email: string, password: string): Promise<string> {
  const response = await request.post("/api/v1/auth/token", { form: { username: email, password } });
  expect(response.status(), await response.text()).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

export function uniqueEmail(): string {
  return `user-${randomUUID().slice(0, 8)}@example.com`;
}

/**
 * Every page of this browser context starts signed in as `account`: signing in through the context's own
 * request client sets the HttpOnly refresh cookie in the browser, from which the SPA restores its session
 * (it keeps the access token in memory only).
 */
export async function signInPage(page: Page, account: Account): Promise<void> {
  const response = await page.context().request.post("/api/v1/auth/token", {
    form: { username: account.email, password: account.password },
  });
  expect(response.status(), await response.text()).toBe(200);
}

/** An answer the fake streams: a sentence, one fenced code block, a closing sentence. */
export function answerWith(code: string, language = "python", intro = "Here is the code:"): string {
  return `${intro}\n\n\`\`\`${language}\n${code}\n\`\`\`\n\nThat is all it needs.`;
}

/** The fake's token count for a reply: whitespace-separated words, as tests/fakes/upstream.py counts them. */
export function fakeCompletionTokens(reply: string): number {
  return reply.split(/(?<=[ \n])/).filter((token) => token.length > 0).length;
}

/** The fake's prompt-token count for a chat request (`count_prompt` in tests/fakes/upstream.py). */
export function fakePromptTokens(request: ChatRequest): number {
  const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
  return request.messages.reduce((sum, message) => sum + words(message.content) + 4, 0) + 3;
}

/** The newest answer on a conversation page. */
export function lastAnswer(page: Page): Locator {
  return page.getByRole("article", { name: "Answer" }).last();
}

/** Waits until the answer has finished streaming (the page marks it busy while it streams). */
export async function expectFinished(answer: Locator): Promise<void> {
  await expect(answer).toHaveAttribute("aria-busy", "false", { timeout: 20_000 });
}

export async function clipboardText(page: Page): Promise<string> {
  return page.evaluate(() => navigator.clipboard.readText());
}

/**
 * Records the length of the newest answer's text at every DOM change, to show that it grew in steps
 * (streamed) rather than arriving at once. Survives client-side navigation (/new -> /c/:id).
 */
export async function recordAnswerGrowth(page: Page): Promise<() => Promise<number[]>> {
  await page.evaluate(() => {
    const lengths: number[] = [];
    (window as unknown as { __answerLengths: number[] }).__answerLengths = lengths;
    new MutationObserver(() => {
      const answers = document.querySelectorAll('article[aria-label="Answer"] .prose-codesmith');
      const length = answers[answers.length - 1]?.textContent?.length ?? 0;
      if (length > 0 && lengths[lengths.length - 1] !== length) lengths.push(length);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { __answerLengths: number[] }).__answerLengths);
}

/** The administrator serve.mjs creates (or, against a running stack, the one E2E_ADMIN_* names). */
export async function adminAccount(request: APIRequestContext): Promise<Account> {
  const email = process.env.E2E_ADMIN_EMAIL;
  const password = process.env.E2E_ADMIN_PASSWORD;
  if (!email || !password) throw new Error("E2E_ADMIN_EMAIL and E2E_ADMIN_PASSWORD name the stack's administrator");
  return { email, password, token: await signInToken(request, email, password) };
}

/** A page of its own browser context (its own cookies), signed in as `account`, or signed out without one. */
export async function pageOf(browser: Browser, account?: Account): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (account) await signInPage(page, account);
  return page;
}

interface Fixtures {
  fake: FakeUpstream;
  account: Account;
  api: Api;
  /** A page signed in as `account`. */
  app: Page;
  /** The stack's administrator, through the API. */
  admin: Api;
}

export const test = base.extend<Fixtures>({
  fake: [
    async ({ playwright }, use) => {
      const request = await playwright.request.newContext();
      const fake = new FakeUpstream(request);
      await fake.reset();
      await use(fake);
      await request.dispose();
    },
    { auto: true },
  ],
  account: async ({ request }, use) => {
    await use(await registerAccount(request));
  },
  api: async ({ request, account }, use) => {
    await use(new Api(request, account));
  },
  app: async ({ page, account }, use) => {
    await signInPage(page, account);
    await use(page);
  },
  admin: async ({ request }, use) => {
    await use(new Api(request, await adminAccount(request)));
  },
});
