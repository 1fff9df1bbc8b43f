import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockApi, noContent } from "../test/api";
import { conversation, message, page, user } from "../test/fixtures";
import { renderApp } from "../test/render";

afterEach(() => vi.unstubAllGlobals());

const summary = { id: "c1", title: "Parse ISO dates", model_id: "m", language: "python", source: "app", created_at: "2025-01-01T00:00:00Z", updated_at: "2025-01-01T00:00:00Z", preview: "def parse(s):" };

describe("Home", () => {
  it("asks before deleting and says how many messages go", async () => {
    let items = [summary];
    const detail = conversation([
      message({ id: "r", role: "user", content: "x" }),
      message({ id: "a1", parent_id: "r" }),
      message({ id: "a2", parent_id: "r" }),
      message({ id: "f", role: "user", parent_id: "a2" }),
    ]);
    const { requests } = mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/conversations": () => json(page(items)),
      "GET /api/v1/conversations/:id": () => json(detail),
      "DELETE /api/v1/conversations/:id": () => {
        items = [];
        return noContent();
      },
    });
    renderApp("/");
    const main = await screen.findByRole("main");
    await userEvent.click(await within(main).findByRole("button", { name: "Delete “Parse ISO dates”" }));
    const dialog = await screen.findByRole("dialog");
    expect(await within(dialog).findByText(/this deletes 4 messages/)).toBeInTheDocument();
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(requests.some((r) => r.method === "DELETE" && r.url.endsWith("/conversations/c1"))).toBe(true));
    expect(await within(main).findByText("No conversations yet")).toBeInTheDocument();
  });

  it("searches as the user types, once they pause, not on every key", async () => {
    const { requests } = mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/conversations": (request) => {
        const q = new URL(request.url).searchParams.get("q");
        return json(page(q === "iso" ? [summary] : []));
      },
    });
    renderApp("/");
    const search = await screen.findByRole("searchbox", { name: "Search conversations" });
    await userEvent.type(search, "iso");
    expect(await within(screen.getByRole("main")).findByText("Parse ISO dates")).toBeInTheDocument();
    const queries = requests.map((r) => new URL(r.url).searchParams.get("q")).filter(Boolean);
    expect(queries).toEqual(["iso"]);
  });

  it("filters snippets by language", async () => {
    const { requests } = mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/conversations": () => json(page([])),
      "GET /api/v1/snippets": () =>
        json(page([{ id: "s1", conversation_id: "c1", message_id: "a1", language: "go", code: "package main", title: "Fetcher", created_at: "2025-01-01T00:00:00Z" }])),
    });
    renderApp("/?tab=snippets");
    expect(await screen.findByText("Fetcher")).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText("Language"), "go");
    await waitFor(() => expect(requests.some((r) => new URL(r.url).searchParams.get("language") === "go")).toBe(true));
  });

  it("shows snippets stored with a language named after an Object.prototype member", async () => {
    const snippet = { conversation_id: "c1", message_id: "a1", created_at: "2025-01-01T00:00:00Z" };
    mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/conversations": () => json(page([])),
      "GET /api/v1/snippets": () =>
        json(
          page([
            { ...snippet, id: "s1", language: "python", code: "print(1)", title: "Coloured" },
            { ...snippet, id: "s2", language: "constructor", code: "class A {}", title: "Ctor" },
            { ...snippet, id: "s3", language: "__proto__", code: "x.__proto__ = y", title: "Proto" },
          ]),
        ),
    });
    const { container } = renderApp("/?tab=snippets");
    expect(await screen.findByText("Ctor")).toBeInTheDocument();
    // Once the Python snippet is coloured the highlighter has run over every card.
    await waitFor(() => expect(container.querySelector("code.language-python")).not.toBeNull());
    expect(screen.getByText("class A {}")).toBeInTheDocument();
    expect(screen.getByText("x.__proto__ = y")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Copy __proto__ code" })).toBeInTheDocument();
    expect(screen.queryByText(/could not be displayed/)).toBeNull();
  });

  it("deletes a snippet after asking, and names its file as the API does", async () => {
    const base = { conversation_id: "c1", message_id: "a1", language: "python", created_at: "2025-01-01T00:00:00Z" };
    let items = [
      { ...base, id: "s1", code: "def add_numbers(a, b):\n    return a + b", title: "def add_numbers(...)", filename: "add_numbers.py" },
      { ...base, id: "s2", code: "print(1)", title: "print(1)", filename: "print_1.py" },
    ];
    const { requests } = mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/conversations": () => json(page([])),
      "GET /api/v1/snippets": () => json(page(items)),
      "DELETE /api/v1/snippets/:id": (_request, params) => {
        items = items.filter((item) => item.id !== params.id);
        return noContent();
      },
    });
    renderApp("/?tab=snippets");
    const main = await screen.findByRole("main");
    expect(await within(main).findByRole("button", { name: "Download as add_numbers.py" })).toBeInTheDocument();

    await userEvent.click(within(main).getByRole("button", { name: "Delete snippet “def add_numbers(...)”" }));
    const dialog = await screen.findByRole("dialog");
    await userEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(requests.some((r) => r.method === "DELETE")).toBe(false);

    await userEvent.click(within(main).getByRole("button", { name: "Delete snippet “def add_numbers(...)”" }));
    await userEvent.click(within(await screen.findByRole("dialog")).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(requests.some((r) => r.method === "DELETE" && r.url.endsWith("/snippets/s1"))).toBe(true));
    await waitFor(() => expect(within(main).queryByText("def add_numbers(...)")).not.toBeInTheDocument());
    expect(within(main).getByText("print(1)", { selector: "a" })).toBeInTheDocument();
  });
});
