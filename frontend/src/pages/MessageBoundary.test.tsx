import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockApi } from "../test/api";
import { conversation, message, model, page, user } from "../test/fixtures";
import { renderApp } from "../test/render";

// A code block that throws on one marker stands in for any bug that model output may trip while rendering.
vi.mock("../components/CodeBlock", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../components/CodeBlock")>();
  return {
    ...actual,
    CodeBlock(props: Parameters<typeof actual.CodeBlock>[0]) {
      if (props.code.includes("BOOM")) throw new Error("this block cannot render");
      return <actual.CodeBlock {...props} />;
    },
  };
});

afterEach(() => vi.unstubAllGlobals());

const base = {
  "GET /api/v1/users/me": () => json(user),
  "GET /api/v1/models": () => json(page([model()])),
  "GET /api/v1/conversations": () => json(page([])),
};

describe("one message that cannot render", () => {
  it("is contained in the conversation: the other messages and its own actions stay", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const request = message({ id: "req", role: "user", kind: "request", content: "Parse ISO dates in Python" });
    const bad = message({ id: "a1", parent_id: "req", content: "Broken:\n\n```python\nBOOM = '<b>x</b>'\n```" });
    const feedback = message({ id: "f1", role: "user", kind: "feedback", parent_id: "a1", content: "Add type hints" });
    const good = message({ id: "a2", parent_id: "f1", content: "Here it is:\n\n```python\nprint(1)\n```" });
    mockApi({ ...base, "GET /api/v1/conversations/:id": () => json(conversation([request, bad, feedback, good])) });
    renderApp("/c/c1");

    expect(await screen.findByText("This message could not be displayed")).toBeInTheDocument();
    expect(screen.getByText("Parse ISO dates in Python")).toBeInTheDocument();
    expect(screen.getByText("Add type hints")).toBeInTheDocument();
    expect(screen.getByText("Here it is:")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: /copy python code/i })).toBeInTheDocument();
    // The broken answer keeps its own controls, and its raw text is there as text.
    const [broken] = screen.getAllByRole("article", { name: "Answer" });
    expect(within(broken!).getByRole("button", { name: "Copy answer" })).toBeInTheDocument();
    expect(within(broken!).getByText(/BOOM = '<b>x<\/b>'/)).toBeInTheDocument();
    expect(broken!.querySelector("b")).toBeNull();
    expect(logged).toHaveBeenCalledWith("This message could not be displayed:", expect.any(Error), expect.anything());
  });

  it("is contained in the snippet list: the other snippets stay", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const snippet = { conversation_id: "c1", message_id: "a1", title: "", created_at: "2025-01-01T00:00:00Z" };
    mockApi({
      ...base,
      "GET /api/v1/snippets": () =>
        json(
          page([
            { ...snippet, id: "s1", language: "python", code: "BOOM()", title: "Broken" },
            { ...snippet, id: "s2", language: "go", code: "package main", title: "Fetcher" },
          ]),
        ),
    });
    renderApp("/?tab=snippets");
    expect(await screen.findByText("Fetcher")).toBeInTheDocument();
    expect(screen.getByText("This snippet could not be displayed")).toBeInTheDocument();
    expect(screen.getByText("BOOM()")).toBeInTheDocument();
    expect(screen.getByLabelText("Go code")).toHaveTextContent("package main");
  });
});
