/** Issue 17 in the SPA: each block's check, the repaired version (what it fixed, its diff), Compare, the switch. */
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { render } from "@testing-library/react";
import { CodeBlock } from "../components/CodeBlock";
import { lineDiff } from "../components/VersionDiff";
import { json, mockApi } from "../test/api";
import { conversation, message, model, page, snippet, user } from "../test/fixtures";
import { renderApp } from "../test/render";

const BROKEN = "def total(items):\n    return sum(item.price for item in itemz)\n\nprint(totl([]))";
const FIXED = "def total(items):\n    return sum(item.price for item in items)\n\nprint(total([]))";
const failed = {
  status: "failed" as const,
  checker: "ruff",
  diagnostics: [
    { line: 2, column: 39, code: "F821", message: "Undefined name `itemz`" },
    { line: 4, column: 7, code: "F821", message: "Undefined name `totl`" },
  ],
};
const passed = { status: "passed" as const, checker: "ruff", diagnostics: [] };

afterEach(() => vi.unstubAllGlobals());

describe("a code block's check", () => {
  it("shows 'passed' for checked code", () => {
    render(<CodeBlock code="print(1)" language="python" check={passed} />);
    expect(screen.getByText("passed")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /problem/ })).not.toBeInTheDocument();
  });

  it("shows N problems that open the diagnostics, with their lines marked", async () => {
    const { container } = render(<CodeBlock code={BROKEN} language="python" check={failed} />);
    const badge = screen.getByRole("button", { name: "2 problems" });
    expect(screen.queryByRole("list", { name: "Problems" })).not.toBeInTheDocument();
    await userEvent.click(badge);
    const items = within(screen.getByRole("list", { name: "Problems" })).getAllByRole("listitem");
    expect(items.map((item) => item.textContent)).toEqual(["2:39F821Undefined name `itemz`", "4:7F821Undefined name `totl`"]);
    const marked = [...container.querySelectorAll("[data-problem-line]")].map((line) => line.getAttribute("data-problem-line"));
    expect(marked).toEqual(["2", "4"]);
  });

  it("says nothing about unchecked code", () => {
    render(<CodeBlock code="SELECT 1" language="cobol" check={{ status: "unchecked", checker: null, diagnostics: [] }} />);
    expect(screen.queryByText("passed")).not.toBeInTheDocument();
    expect(screen.queryByText(/problem/)).not.toBeInTheDocument();
  });

  it("shows a checker's message as text, never as HTML", async () => {
    const hostile = { ...failed, diagnostics: [{ line: 1, column: 1, code: null, message: "<img src=x onerror=alert(1)>" }] };
    const { container } = render(<CodeBlock code="x" language="python" check={hostile} />);
    await userEvent.click(screen.getByRole("button", { name: "1 problem" }));
    expect(screen.getByText("<img src=x onerror=alert(1)>")).toBeInTheDocument();
    expect(container.querySelector("img")).toBeNull();
  });
});

describe("the line diff", () => {
  it("marks removed and added lines and keeps the rest", () => {
    expect(lineDiff("a\nb\nc\n", "a\nB\nc\n")).toEqual([
      { kind: "same", text: "a" },
      { kind: "removed", text: "b" },
      { kind: "added", text: "B" },
      { kind: "same", text: "c" },
    ]);
  });
});

const request = message({ id: "req", role: "user", kind: "request", content: "Sum the prices" });
const checked = message({
  id: "a1",
  parent_id: "req",
  content: `Here:\n\n\`\`\`python\n${BROKEN}\n\`\`\``,
  snippets: [snippet({ code: BROKEN, message_id: "a1", check: failed })],
});
function repairOf(check: typeof passed | typeof failed) {
  return message({
    id: "a2",
    parent_id: "req",
    repair_of: "a1",
    content: `Here:\n\n\`\`\`python\n${FIXED}\n\`\`\``,
    snippets: [snippet({ code: FIXED, message_id: "a2", check })],
  });
}
const base = {
  "GET /api/v1/users/me": () => json(user),
  "GET /api/v1/models": () => json(page([model()])),
  "GET /api/v1/conversations": () => json(page([])),
};

describe("a repaired version", () => {
  it("says what it fixed and shows its changes against the version it repairs", async () => {
    mockApi({ ...base, "GET /api/v1/conversations/:id": () => json(conversation([request, checked, repairOf(passed)])) });
    renderApp("/c/c1");
    const note = await screen.findByLabelText("Automatic repair");
    expect(note).toHaveTextContent("Fixed 2 problems");
    expect(screen.getByText("passed")).toBeInTheDocument();
    expect(screen.getByRole("group", { name: "answer versions" })).toHaveTextContent("2/2");

    await userEvent.click(within(note).getByRole("button", { name: "Show changes" }));
    const diff = await screen.findByRole("figure", { name: "Changes from the version it repairs" });
    const removed = [...diff.querySelectorAll('[data-diff="removed"]')].map((line) => line.textContent);
    const added = [...diff.querySelectorAll('[data-diff="added"]')].map((line) => line.textContent);
    expect(removed.join("\n")).toContain("itemz");
    expect(added.join("\n")).toContain("for item in items)");
    expect(added.join("\n")).toContain("print(total([]))");
  });

  it("says so honestly when the repaired code still fails its check", async () => {
    const stillBroken = { ...failed, diagnostics: [failed.diagnostics[0]!] };
    mockApi({ ...base, "GET /api/v1/conversations/:id": () => json(conversation([request, checked, repairOf(stillBroken)])) });
    renderApp("/c/c1");
    const note = await screen.findByLabelText("Automatic repair");
    expect(note).toHaveTextContent("Tried to fix 2 problems; the repaired code still fails its check (1 problem).");
    expect(note).not.toHaveTextContent("Fixed");
  });

  it("can be compared with any other version", async () => {
    mockApi({ ...base, "GET /api/v1/conversations/:id": () => json(conversation([request, checked, repairOf(passed)])) });
    renderApp("/c/c1");
    await userEvent.selectOptions(await screen.findByRole("combobox", { name: "Compare with version" }), "with 1/2");
    const diff = await screen.findByRole("figure", { name: "Version 1 → version 2" });
    expect(diff.querySelectorAll('[data-diff="removed"]').length).toBeGreaterThan(0);
  });
});

describe("the repair switch in Settings", () => {
  it("saves auto_repair with PATCH /users/me", async () => {
    const { requests } = mockApi({
      ...base,
      "GET /api/v1/users/me/api-tokens": () => json(page([])),
      "PATCH /api/v1/users/me": async (request) => json({ ...user, ...((await request.json()) as object) }),
    });
    renderApp("/settings");
    const toggle = await screen.findByRole("switch", { name: /Repair code that fails its check/ });
    expect(toggle).toBeChecked();
    await userEvent.click(toggle);
    await waitFor(() => expect(toggle).not.toBeChecked());
    const patch = requests.find((r) => r.method === "PATCH");
    expect(await patch!.json()).toEqual({ auto_repair: false });
  });

  it("is disabled, with a note, when the server does not repair", async () => {
    mockApi({
      ...base,
      "GET /api/v1/users/me": () => json({ ...user, auto_repair_available: false }),
      "GET /api/v1/users/me/api-tokens": () => json(page([])),
    });
    renderApp("/settings");
    const toggle = await screen.findByRole("switch", { name: /Repair code that fails its check/ });
    expect(toggle).toBeDisabled();
    expect(screen.getByText(/This server does not repair answers/)).toBeInTheDocument();
  });
});
