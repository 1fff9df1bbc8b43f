import { describe, expect, it } from "vitest";
import type { Model, ModelStatus } from "../api/types";
import { providerLabel, statusInfo } from "./ModelPicker";

describe("model status and provider labels", () => {
  it("labels the known values", () => {
    expect(statusInfo("unreachable").label).toBe("Unreachable");
    expect(providerLabel("vllm")).toBe("vLLM");
  });

  it.each(["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "brand_new"])(
    "falls back for a value the table does not own: %s",
    (value) => {
      expect(statusInfo(value as ModelStatus)).toEqual({ label: "Not checked", dot: "bg-zinc-400" });
      expect(providerLabel(value as Model["provider"])).toBe(value);
    },
  );
});
