import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { vi } from "vitest";
import type { Message } from "../api/types";
import { controllableStream, json, mockApi } from "../test/api";
import { conversation, message, model, page, user } from "../test/fixtures";
import { renderApp } from "../test/render";

const request = message({ id: "req", role: "user", kind: "request", content: "Parse ISO dates in Python" });
const base = {
  "GET /api/v1/users/me": () => json(user),
  "GET /api/v1/models": () => json(page([model()])),
  "GET /api/v1/conversations": () => json(page([])),
};

afterEach(() => vi.unstubAllGlobals());

describe("Conversation page", () => {
  it("re-attaches to a running generation and streams it token by token", async () => {
    const running = message({ id: "a1", parent_id: "req", status: "streaming", content: "Here" });
    const stream = controllableStream();
    let detail = conversation([request, running]);
    const { requests } = mockApi({
      ...base,
      "GET /api/v1/conversations/:id": () => json(detail),
      "GET /api/v1/conversations/:id/messages/:mid/stream": () => stream.response(),
    });
    renderApp("/c/c1");

    expect(await screen.findByText("Parse ISO dates in Python")).toBeInTheDocument();
    await waitFor(() => expect(requests.some((r) => r.url.endsWith("/messages/a1/stream"))).toBe(true));

    // The re-attached stream replays the content so far as one delta, then live deltas.
    act(() => stream.send("delta", { text: "Here is" }));
    act(() => stream.send("delta", { text: " the code:" }));
    expect(await screen.findByText("Here is the code:")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Stop generating" })).toBeInTheDocument();

    const final: Message = { ...running, status: "complete", content: "Here is the code:\n\n```python\nprint(1)\n```" };
    detail = conversation([request, final]);
    act(() => stream.send("done", final));
    act(() => stream.close());
    expect(await screen.findByRole("button", { name: /copy python code/i })).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole("button", { name: "Stop generating" })).not.toBeInTheDocument());
  });

  it("stops a running generation with POST …/cancel and keeps the partial answer", async () => {
    const running = message({ id: "a1", parent_id: "req", status: "streaming", content: "partial" });
    const stream = controllableStream();
    let detail = conversation([request, running]);
    const { requests } = mockApi({
      ...base,
      "GET /api/v1/conversations/:id": () => json(detail),
      "GET /api/v1/conversations/:id/messages/:mid/stream": () => stream.response(),
      "POST /api/v1/conversations/:id/messages/:mid/cancel": () => {
        detail = conversation([request, { ...running, status: "cancelled" }]);
        return json({ ...running, status: "cancelled" });
      },
    });
    renderApp("/c/c1");
    act(() => stream.send("delta", { text: "partial" }));
    await userEvent.click(await screen.findByRole("button", { name: "Stop generating" }));

    await waitFor(() => expect(requests.some((r) => r.method === "POST" && r.url.endsWith("/messages/a1/cancel"))).toBe(true));
    expect(await screen.findByText(/Stopped\./)).toBeInTheDocument();
    expect(screen.getByText("partial")).toBeInTheDocument();
  });

  it("regenerates as a new version and switches between versions", async () => {
    const first = message({ id: "a1", parent_id: "req", content: "First answer" });
    const stream = controllableStream();
    let detail = conversation([request, first]);
    const { requests } = mockApi({
      ...base,
      "GET /api/v1/conversations/:id": () => json(detail),
      "POST /api/v1/conversations/:id/messages/:mid/regenerate": () => stream.response(),
    });
    renderApp("/c/c1");
    await userEvent.click(await screen.findByRole("button", { name: /regenerate/i }));

    act(() => stream.send("start", { conversation_id: "c1", message_id: "a2", parent_id: "req", model_id: "m-gpt" }));
    act(() => stream.send("delta", { text: "Second answer" }));
    expect(await screen.findByText("Second answer")).toBeInTheDocument();
    const second = message({ id: "a2", parent_id: "req", content: "Second answer" });
    detail = conversation([request, first, second]);
    act(() => stream.send("done", second));

    const regenerate = requests.find((r) => r.url.endsWith("/messages/a1/regenerate"))!;
    expect(await regenerate.json()).toMatchObject({ stream: true });
    const versions = await screen.findByRole("group", { name: "answer versions" });
    expect(within(versions).getByText("2/2")).toBeInTheDocument();
    await userEvent.click(within(versions).getByRole("button", { name: "Previous answer" }));
    expect(await screen.findByText("First answer")).toBeInTheDocument();
    expect(screen.queryByText("Second answer")).not.toBeInTheDocument();
    expect(within(screen.getByRole("group", { name: "answer versions" })).getByText("1/2")).toBeInTheDocument();
  });

  it("explains a refusal and what to do next", async () => {
    const refused = message({
      id: "a1",
      parent_id: "req",
      status: "rejected",
      error: { code: "not_a_code_request", detail: "This is not a programming task." },
    });
    mockApi({ ...base, "GET /api/v1/conversations/:id": () => json(conversation([request, refused])) });
    renderApp("/c/c1");
    expect(await screen.findByText("That does not look like a programming task")).toBeInTheDocument();
    expect(screen.getByText(/Describe what the program should do/)).toBeInTheDocument();
  });

  it("shows an upstream error from the stream with a way to retry", async () => {
    const first = message({ id: "a1", parent_id: "req", content: "First answer" });
    const stream = controllableStream();
    let detail = conversation([request, first]);
    mockApi({
      ...base,
      "GET /api/v1/conversations/:id": () => json(detail),
      "POST /api/v1/conversations/:id/messages/:mid/regenerate": () => stream.response(),
    });
    renderApp("/c/c1");
    await userEvent.click(await screen.findByRole("button", { name: /regenerate/i }));
    act(() => stream.send("start", { conversation_id: "c1", message_id: "a2", parent_id: "req", model_id: "m-gpt" }));
    detail = conversation([request, first, message({ id: "a2", parent_id: "req", status: "failed", error: { code: "upstream_timeout", detail: "No answer in 60 s." } })]);
    act(() => stream.send("error", { code: "upstream_timeout", detail: "No answer in 60 s.", message_id: "a2" }));
    act(() => stream.close());
    expect(await screen.findByText("The model took too long to answer")).toBeInTheDocument();
    expect(screen.getAllByRole("button", { name: /regenerate/i }).length).toBeGreaterThan(0);
  });

  it("sends feedback on the shown answer with Ctrl+Enter", async () => {
    const first = message({ id: "a1", parent_id: "req", content: "First answer" });
    const stream = controllableStream();
    const { requests } = mockApi({
      ...base,
      "GET /api/v1/conversations/:id": () => json(conversation([request, first])),
      "POST /api/v1/conversations/:id/messages": () => stream.response(),
    });
    renderApp("/c/c1");
    const box = await screen.findByLabelText("Feedback on the answer");
    await userEvent.type(box, "Add type hints{Control>}{Enter}{/Control}");
    act(() => stream.send("start", { conversation_id: "c1", message_id: "a2", parent_id: "f1", model_id: "m-gpt" }));

    await waitFor(() => expect(requests.some((r) => r.method === "POST" && r.url.endsWith("/conversations/c1/messages"))).toBe(true));
    const sent = requests.find((r) => r.method === "POST" && r.url.endsWith("/conversations/c1/messages"))!;
    expect(await sent.json()).toMatchObject({ content: "Add type hints", parent_id: "a1", stream: true });
    expect(await screen.findByText("Add type hints")).toBeInTheDocument();
  });

  it("edits a sent prompt: a new version of it with a new answer, and a switcher between the versions", async () => {
    const first = message({ id: "a1", parent_id: "req", content: "First answer" });
    const stream = controllableStream();
    let detail = conversation([request, first]);
    const { requests } = mockApi({
      ...base,
      "GET /api/v1/conversations/:id": () => json(detail),
      "POST /api/v1/conversations/:id/messages": () => stream.response(),
    });
    renderApp("/c/c1");
    const asked = await screen.findByRole("article", { name: "Your request" });
    await userEvent.click(within(asked).getByRole("button", { name: "Edit request" }));
    const box = await screen.findByLabelText("Edit your request");
    expect(box).toHaveValue("Parse ISO dates in Python");
    await userEvent.clear(box);
    await userEvent.type(box, "Parse ISO dates in Rust{Control>}{Enter}{/Control}");

    act(() => stream.send("start", { conversation_id: "c1", message_id: "b1", parent_id: "req2", model_id: "m-gpt" }));
    await waitFor(() => expect(requests.some((r) => r.method === "POST" && r.url.endsWith("/conversations/c1/messages"))).toBe(true));
    const sent = requests.find((r) => r.method === "POST" && r.url.endsWith("/conversations/c1/messages"))!;
    const body: Record<string, unknown> = await sent.json();
    expect(body).toMatchObject({ content: "Parse ISO dates in Rust", edit_of: "req", stream: true });
    expect(body).not.toHaveProperty("parent_id");

    act(() => stream.send("delta", { text: "Rust answer" }));
    expect(await screen.findByText("Rust answer")).toBeInTheDocument();
    const edited = message({ id: "req2", role: "user", kind: "request", content: "Parse ISO dates in Rust" });
    const answer = message({ id: "b1", parent_id: "req2", content: "Rust answer" });
    detail = conversation([request, first, edited, answer]);
    act(() => stream.send("done", answer));

    const versions = await screen.findByRole("group", { name: "prompt versions" });
    expect(within(versions).getByText("2/2")).toBeInTheDocument();
    expect(screen.getByText("Parse ISO dates in Rust")).toBeInTheDocument();
    expect(screen.queryByText("First answer")).not.toBeInTheDocument();
    await userEvent.click(within(versions).getByRole("button", { name: "Previous prompt" }));
    expect(await screen.findByText("First answer")).toBeInTheDocument();
    expect(screen.getByText("Parse ISO dates in Python")).toBeInTheDocument();
    expect(within(screen.getByRole("group", { name: "prompt versions" })).getByText("1/2")).toBeInTheDocument();
  });

  it("keeps the editor open with the text when the edit is refused", async () => {
    const first = message({ id: "a1", parent_id: "req", content: "First answer" });
    mockApi({
      ...base,
      "GET /api/v1/conversations/:id": () => json(conversation([request, first])),
      "POST /api/v1/conversations/:id/messages": () => json({ status: 422, code: "not_a_code_request", detail: "Not code." }, 422),
    });
    renderApp("/c/c1");
    await userEvent.click(await screen.findByRole("button", { name: "Edit request" }));
    const box = await screen.findByLabelText("Edit your request");
    await userEvent.clear(box);
    await userEvent.type(box, "Write me a poem{Control>}{Enter}{/Control}");
    expect(await screen.findByText("That does not look like a programming task")).toBeInTheDocument();
    expect(screen.getByLabelText("Edit your request")).toHaveValue("Write me a poem");
    await userEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByLabelText("Edit your request")).not.toBeInTheDocument();
    expect(screen.queryByRole("group", { name: "prompt versions" })).not.toBeInTheDocument();
  });

  it("copies a prompt", async () => {
    const writeText = vi.fn(() => Promise.resolve());
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    vi.stubGlobal("isSecureContext", true);
    mockApi({ ...base, "GET /api/v1/conversations/:id": () => json(conversation([request, message({ id: "a1", parent_id: "req", content: "x" })])) });
    renderApp("/c/c1");
    await userEvent.click(await screen.findByRole("button", { name: "Copy request" }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith("Parse ISO dates in Python"));
  });
});
