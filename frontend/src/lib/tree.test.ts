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
    repair_of: null,
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

describe("edited prompts", () => {
  // req → a1 ; req2 (req edited: a sibling at the root) → b1 ; f1 → f2 (feedback edited) under a1
  const first = message("e-req", null, "user");
  const firstAnswer = message("e-a1", "e-req");
  const feedback = message("e-f1", "e-a1", "user");
  const edited = message("e-req2", null, "user");
  const editedAnswer = message("e-b1", "e-req2");
  const editedFeedback = message("e-f2", "e-a1", "user");
  const messages = [editedAnswer, first, feedback, edited, firstAnswer, editedFeedback];

  it("shows the newest version of the request, with its versions to switch between", () => {
    const path = visiblePath(messages);
    expect(path.map((step) => step.message.id)).toEqual(["e-req2", "e-b1"]);
    expect(path[0]).toMatchObject({ index: 1 });
    expect(path[0]!.siblings.map((sibling) => sibling.id)).toEqual(["e-req", "e-req2"]);
  });

  it("switches back to the first version and the thread under it", () => {
    const path = visiblePath(messages, chooseMessage(messages, "e-req", {}));
    expect(path.map((step) => step.message.id)).toEqual(["e-req", "e-a1", "e-f2"]);
    expect(path[2]!.siblings.map((sibling) => sibling.id)).toEqual(["e-f1", "e-f2"]);
  });
});
