import { act, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { controllableStream, json, mockApi } from "../test/api";
import { conversation, message, model, page, user } from "../test/fixtures";
import { currentLocation, renderApp } from "../test/render";

afterEach(() => vi.unstubAllGlobals());

const models = [
  model(),
  model({ id: "m-own", name: "Qwen on my GPU", provider: "vllm", owner: "user", is_default: false, status: "unreachable", base_url: "https://gpu.example/v1" }),
];

describe("New generation", () => {
  it("sends with Ctrl+Enter and opens the conversation as the answer starts", async () => {
    const stream = controllableStream();
    const { requests } = mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/models": () => json(page(models)),
      "GET /api/v1/conversations": () => json(page([])),
      "POST /api/v1/conversations": () => stream.response(),
      "GET /api/v1/conversations/:id": () =>
        json(conversation([message({ id: "r", role: "user", content: "Reverse a list" }), message({ id: "a", parent_id: "r", status: "streaming" })], { id: "c9" })),
      "GET /api/v1/conversations/:id/messages/:mid/stream": () => controllableStream().response(),
    });
    renderApp("/new");
    // A first-time user gets example prompts.
    expect(await screen.findByText("Not sure where to start? Try one of these")).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText(/Language/), "python");
    await userEvent.type(screen.getByLabelText("Describe the code you need"), "Reverse a list{Control>}{Enter}{/Control}");

    await waitFor(() => expect(requests.some((r) => r.method === "POST")).toBe(true));
    const sent = requests.find((r) => r.method === "POST")!;
    expect(await sent.json()).toEqual({ prompt: "Reverse a list", model_id: "m-gpt", language: "python", stream: true });
    act(() => stream.send("start", { conversation_id: "c9", message_id: "a", parent_id: "r", model_id: "m-gpt" }));
    await waitFor(() => expect(currentLocation).toBe("/c/c9"));
    act(() => stream.send("delta", { text: "def reverse(items):" }));
    expect(await screen.findByText("def reverse(items):")).toBeInTheDocument();
  });

  it("picks a model with the keyboard and shows its status", async () => {
    mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/models": () => json(page(models)),
      "GET /api/v1/conversations": () => json(page([])),
    });
    renderApp("/new");
    const picker = await screen.findByRole("button", { name: /Model GPT-4o mini/ });
    picker.focus();
    await userEvent.keyboard("{ArrowDown}");
    const listbox = await screen.findByRole("listbox");
    expect(listbox).toHaveFocus();
    await userEvent.keyboard("{ArrowDown}{Enter}");
    expect(screen.getByRole("button", { name: /Model Qwen on my GPU/ })).toBeInTheDocument();
    expect(screen.getByText(/The last check said “Unreachable”/)).toBeInTheDocument();
  });

  it("explains a refused request and keeps the prompt", async () => {
    mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/models": () => json(page(models)),
      "GET /api/v1/conversations": () => json(page([])),
      "POST /api/v1/conversations": () => json({ status: 422, code: "not_a_code_request", detail: "Not code." }, 422),
    });
    renderApp("/new");
    const box = await screen.findByLabelText("Describe the code you need");
    await userEvent.type(box, "Write me a poem");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(await screen.findByText("That does not look like a programming task")).toBeInTheDocument();
    expect(box).toHaveValue("Write me a poem");
  });

  it("tells the user how long to wait when rate-limited", async () => {
    mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/models": () => json(page(models)),
      "GET /api/v1/conversations": () => json(page([])),
      "POST /api/v1/conversations": () => json({ status: 429, code: "rate_limited", detail: "Slow down." }, 429, { "Retry-After": "30" }),
    });
    renderApp("/new");
    await userEvent.type(await screen.findByLabelText("Describe the code you need"), "Sort a list");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(await screen.findByText(/Try again in 30 seconds/)).toBeInTheDocument();
  });

  it("shows first steps instead of the composer when no model is usable", async () => {
    mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/models": () => json(page([model({ usable: false, is_default: false }), model({ id: "m-2", name: "GPT-4.1 mini", usable: false, is_default: false })])),
      "GET /api/v1/conversations": () => json(page([])),
    });
    renderApp("/new");
    expect(await screen.findByText("First steps: give Codesmith a model")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Add your OpenAI key" })).toHaveAttribute("href", "/settings");
    expect(screen.getByRole("link", { name: "Register a model server" })).toHaveAttribute("href", "/models");
    expect(screen.queryByLabelText("Describe the code you need")).not.toBeInTheDocument();
  });

  it("preselects the server's default for this user, never an unusable model", async () => {
    mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/models": () =>
        json(page([model({ usable: false, is_default: false }), model({ id: "m-own", name: "My server", provider: "openai_compatible", owner: "user", is_default: true })])),
      "GET /api/v1/conversations": () => json(page([])),
    });
    renderApp("/new");
    expect(await screen.findByRole("button", { name: /Model My server/ })).toBeInTheDocument();
  });

  it("keeps the unsent prompt across a reload, and forgets it once sent", async () => {
    const stream = controllableStream();
    mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/models": () => json(page(models)),
      "GET /api/v1/conversations": () => json(page([])),
      "POST /api/v1/conversations": () => stream.response(),
      "GET /api/v1/conversations/:id": () => json(conversation([message({ id: "r", role: "user", content: "Sort a list" })], { id: "c7" })),
    });
    const first = renderApp("/new");
    await userEvent.type(await screen.findByLabelText("Describe the code you need"), "Sort a list");
    first.unmount();
    renderApp("/new");
    const box = await screen.findByLabelText("Describe the code you need");
    expect(box).toHaveValue("Sort a list");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    act(() => stream.send("start", { conversation_id: "c7", message_id: "a", parent_id: "r", model_id: "m-gpt" }));
    await waitFor(() => expect(currentLocation).toBe("/c/c7"));
    expect(localStorage.getItem("codesmith.draft:new")).toBeNull();
  });
});
