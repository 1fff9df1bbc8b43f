import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { json, mockApi } from "../test/api";
import { conversation, message, model, page, user } from "../test/fixtures";
import { renderApp } from "../test/render";

const saved: string[] = [];
const objectUrls = { create: URL.createObjectURL, revoke: URL.revokeObjectURL };

beforeEach(() => {
  saved.length = 0;
  URL.createObjectURL = () => "blob:test";
  URL.revokeObjectURL = () => undefined;
  vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
    saved.push(this.download);
  });
});

afterEach(() => {
  URL.createObjectURL = objectUrls.create;
  URL.revokeObjectURL = objectUrls.revoke;
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const detail = conversation([
  message({ id: "r", role: "user", kind: "request", content: "Parse ISO dates" }),
  message({ id: "a", parent_id: "r", content: "```python\nprint(1)\n```" }),
]);

function conversationApi() {
  return mockApi({
    "GET /api/v1/users/me": () => json(user),
    "GET /api/v1/models": () => json(page([model()])),
    "GET /api/v1/conversations": () => json(page([])),
    "GET /api/v1/conversations/:id": () => json(detail),
    "GET /api/v1/conversations/:id/export": (request) => {
      const format = new URL(request.url).searchParams.get("format");
      if (format !== "markdown" && format !== "json") return json({ status: 422, code: "validation_error", detail: "Unknown format" }, 422);
      const name = format === "markdown" ? "parse-iso-dates.md" : "parse-iso-dates.json";
      return new Response(format === "markdown" ? "# Parse ISO dates" : "{}", {
        headers: { "Content-Type": format === "markdown" ? "text/markdown" : "application/json", "Content-Disposition": `attachment; filename="${name}"` },
      });
    },
  });
}

describe("Conversation → Export", () => {
  it("offers Markdown and JSON and saves each under the server's name", async () => {
    const { requests } = conversationApi();
    renderApp("/c/c1");
    const button = await screen.findByRole("button", { name: "Export conversation" });
    await userEvent.click(button);
    const menu = screen.getByRole("menu", { name: "Export as" });
    expect(within(menu).getAllByRole("menuitem")[0]).toHaveFocus();
    await userEvent.click(within(menu).getByRole("menuitem", { name: /Markdown/ }));
    await vi.waitFor(() => expect(saved).toEqual(["parse-iso-dates.md"]));

    await userEvent.click(button);
    await userEvent.click(within(screen.getByRole("menu")).getByRole("menuitem", { name: /JSON/ }));
    await vi.waitFor(() => expect(saved).toEqual(["parse-iso-dates.md", "parse-iso-dates.json"]));
    const formats = requests.filter((r) => r.url.includes("/export")).map((r) => new URL(r.url).searchParams.get("format"));
    expect(formats).toEqual(["markdown", "json"]);
    expect(requests.find((r) => r.url.includes("/export"))!.headers.get("Authorization")).toBe("Bearer test-jwt");
  });

  it("closes with Escape and gives focus back to its button", async () => {
    conversationApi();
    renderApp("/c/c1");
    const button = await screen.findByRole("button", { name: "Export conversation" });
    await userEvent.click(button);
    expect(screen.getByRole("menu")).toBeInTheDocument();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("menu")).not.toBeInTheDocument();
    expect(button).toHaveFocus();
    expect(button).toHaveAttribute("aria-expanded", "false");
  });
});
