import { renderHook } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { keys } from "../api/queries";
import type { Conversation } from "../api/types";
import typesSource from "../api/types.ts?raw";
import { controllableStream, mockApi } from "../test/api";
import { conversation, message } from "../test/fixtures";
import { isLive, onRepairStarted, generationPath, startGeneration, useLiveGeneration } from "./generations";
import { queryClient } from "./queryClient";

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

describe("a stream that goes on with an automatic repair", () => {
  const checked = message({ id: "a1", parent_id: "r1", content: "```python\nprint(x)\n```", status: "complete" });
  const repairEvent = { message_id: "a2", repair_of: "a1", conversation_id: "c1", parent_id: "r1", model_id: "m-gpt", problems: 1 };

  function cached() {
    return queryClient.getQueryData<Conversation>(keys.conversation("c1"))!.messages;
  }

  beforeEach(() => {
    queryClient.clear();
    queryClient.setQueryData(keys.conversation("c1"), conversation([message({ id: "r1", role: "user", kind: "request", content: "print x" })]));
  });

  it("keeps reading after the checked answer's done: the repair streams in as a new version, then settles", async () => {
    const stream = controllableStream();
    mockApi({ "POST /api/v1/conversations": () => stream.response() });
    const repairs: string[] = [];
    const unsubscribe = onRepairStarted((repair) => repairs.push(`${repair.message_id} repairs ${repair.repair_of} (${repair.problems})`));

    const started = startGeneration({ kind: "create", body: { prompt: "print x" } });
    stream.send("start", { message_id: "a1", conversation_id: "c1", parent_id: "r1", model_id: "m-gpt" });
    await started;
    stream.send("delta", { text: "```python\nprint(x)\n```" });
    stream.send("done", checked);
    await vi.waitFor(() => expect(cached().find((m) => m.id === "a1")?.status).toBe("complete"));
    expect(isLive("a1")).toBe(false);

    stream.raw('event: repair\nid: 0\ndata: {"message_id": "a2", "repair_of": "a1", "conversation_id": "c1", "parent_id": "r1", "model_id": "m-gpt", "problems": 1}\n\n');
    await vi.waitFor(() => expect(isLive("a2")).toBe(true));
    expect(repairs).toEqual(["a2 repairs a1 (1)"]);
    // The new version is in the cache at once, a sibling of the checked answer, marked as its repair.
    expect(cached().find((m) => m.id === "a2")).toMatchObject({ parent_id: "r1", repair_of: "a1", status: "streaming" });

    stream.raw('event: delta\nid: 0\ndata: {"text": "```python\\nx = 1\\n"}\n\n');
    stream.raw('event: delta\nid: 14\ndata: {"text": "print(x)\\n```"}\n\n');
    await vi.waitFor(() => expect(liveText("a2")).toBe("```python\nx = 1\nprint(x)\n```"));

    const repaired = message({ id: "a2", parent_id: "r1", repair_of: "a1", content: "```python\nx = 1\nprint(x)\n```" });
    stream.send("done", repaired);
    stream.close();
    await vi.waitFor(() => expect(isLive("a2")).toBe(false));
    expect(cached().map((m) => [m.id, m.status, m.repair_of])).toEqual([
      ["r1", "complete", null],
      ["a1", "complete", null],
      ["a2", "complete", "a1"],
    ]);
    unsubscribe();
  });

  it("marks a repair that fails as failed, and keeps the checked version as it was", async () => {
    const stream = controllableStream();
    mockApi({ "POST /api/v1/conversations": () => stream.response() });
    const started = startGeneration({ kind: "create", body: { prompt: "print x" } });
    stream.send("start", { message_id: "a1", conversation_id: "c1", parent_id: "r1", model_id: "m-gpt" });
    await started;
    stream.send("done", checked);
    stream.send("repair", repairEvent);
    stream.send("delta", { text: "partial" });
    stream.send("error", { code: "upstream_timeout", detail: "slow", message_id: "a2" });
    stream.close();
    await vi.waitFor(() => expect(cached().find((m) => m.id === "a2")?.status).toBe("failed"));
    expect(cached().find((m) => m.id === "a2")).toMatchObject({ content: "partial", error: { code: "upstream_timeout" } });
    expect(cached().find((m) => m.id === "a1")).toMatchObject({ status: "complete", content: checked.content });
  });

  it("ends as before when the stream closes after done without a repair", async () => {
    const stream = controllableStream();
    mockApi({ "POST /api/v1/conversations": () => stream.response() });
    const repairs: unknown[] = [];
    const unsubscribe = onRepairStarted((repair) => repairs.push(repair));
    const started = startGeneration({ kind: "create", body: { prompt: "print x" } });
    stream.send("start", { message_id: "a1", conversation_id: "c1", parent_id: "r1", model_id: "m-gpt" });
    await started;
    stream.send("done", checked);
    stream.close();
    await vi.waitFor(() => expect(cached().map((m) => m.id)).toEqual(["r1", "a1"]));
    expect(isLive("a1")).toBe(false);
    expect(repairs).toEqual([]);
    unsubscribe();
  });
});

function liveText(messageId: string): string | undefined {
  return renderHook(() => useLiveGeneration(messageId)).result.current?.text;
}
