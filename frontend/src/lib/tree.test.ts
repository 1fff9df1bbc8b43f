import { describe, expect, it } from "vitest";
import type { Message } from "../api/types";
import { chooseMessage, visiblePath } from "./tree";

let clock = 0;
function message(id: string, parent: string | null, role: Message["role"] = "assistant"): Message {
  clock += 1;
  return {
    id,
    conversation_id: "c",
    parent_id: parent,
    role,
    kind: role === "user" ? (parent ? "feedback" : "request") : "generation",
    content: id,
    status: "complete",
    error: null,
    model_id: null,
    usage: null,
    snippets: [],
    created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, clock)).toISOString(),
    completed_at: null,
  };
}

// request → a1 | a2 (regenerated) ; a1 → feedback f1 → a3
const request = message("req", null, "user");
const a1 = message("a1", "req");
const f1 = message("f1", "a1", "user");
const a3 = message("a3", "f1");
const a2 = message("a2", "req");
const all = [a3, request, a2, f1, a1]; // server order must not matter

describe("visiblePath", () => {
  it("shows the newest version at each fork by default", () => {
    const path = visiblePath(all);
    expect(path.map((step) => step.message.id)).toEqual(["req", "a2"]);
    expect(path[1]).toMatchObject({ index: 1 });
    expect(path[1]!.siblings.map((sibling) => sibling.id)).toEqual(["a1", "a2"]);
  });

  it("follows a chosen older version and the feedback under it", () => {
    const path = visiblePath(all, { req: "a1" });
    expect(path.map((step) => step.message.id)).toEqual(["req", "a1", "f1", "a3"]);
  });

  it("falls back to the newest child when the chosen one is gone", () => {
    expect(visiblePath(all, { req: "deleted" }).map((step) => step.message.id)).toEqual(["req", "a2"]);
  });

  it("is empty without messages", () => {
    expect(visiblePath([])).toEqual([]);
  });
});

describe("chooseMessage", () => {
  it("chooses every ancestor so a deep message becomes visible", () => {
    const chosen = chooseMessage(all, "a3", {});
    expect(visiblePath(all, chosen).map((step) => step.message.id)).toEqual(["req", "a1", "f1", "a3"]);
  });
});
