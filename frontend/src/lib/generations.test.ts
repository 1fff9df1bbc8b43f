import { describe, expect, it } from "vitest";
import typesSource from "../api/types.ts?raw";
import { generationPath } from "./generations";

describe("generation requests", () => {
  it("build the API's own paths from typed requests", () => {
    expect(generationPath({ kind: "create", body: { prompt: "x" } })).toBe("/api/v1/conversations");
    expect(generationPath({ kind: "feedback", conversationId: "c/1", body: { content: "y" } })).toBe(
      "/api/v1/conversations/c%2F1/messages",
    );
    expect(generationPath({ kind: "regenerate", conversationId: "c1", messageId: "m 2", body: {} })).toBe(
      "/api/v1/conversations/c1/messages/m%202/regenerate",
    );
  });
});

describe("API types", () => {
  it("come from the generated schema only: no hand-written shapes or pending paths", () => {
    const source = typesSource;
    expect(source).not.toMatch(/PendingPaths/);
    // Page<T> is the one generic the schema spells per item type (Page_ModelPublic_ ...).
    expect(source.match(/^export interface \w+/gm)).toEqual(["export interface Page"]);
  });
});
