import { act, fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isSendKey, readSendKey, writeSendKey } from "../hooks/useSendKey";
import { PromptBox } from "./PromptBox";
import { SendKeySetting } from "./SendKeySetting";
import { shortcutFor } from "./Shortcuts";
import { ToastProvider, useToast } from "./Toast";
import { labelClass } from "./UsageChart";

function Box({ onSubmit }: { onSubmit: () => void }) {
  const [value, setValue] = useState("make it async");
  return <PromptBox label="Prompt" value={value} onChange={setValue} onSubmit={onSubmit} />;
}

const key = (overrides: Partial<Parameters<typeof isSendKey>[0]> = {}) => ({ key: "Enter", shiftKey: false, ctrlKey: false, metaKey: false, ...overrides });

afterEach(() => {
  localStorage.clear();
  vi.useRealTimers();
});

describe("the send key", () => {
  it("Enter sends and Shift+Enter adds a line by default", () => {
    expect(readSendKey()).toBe("enter");
    expect(isSendKey(key(), "enter")).toBe(true);
    expect(isSendKey(key({ shiftKey: true }), "enter")).toBe(false);
    expect(isSendKey(key({ ctrlKey: true }), "enter")).toBe(true);
    expect(isSendKey(key({ isComposing: true }), "enter")).toBe(false);
    expect(isSendKey(key({ key: "a" }), "enter")).toBe(false);
  });

  it("the Ctrl+Enter preference keeps Enter for new lines", () => {
    expect(isSendKey(key(), "mod-enter")).toBe(false);
    expect(isSendKey(key({ metaKey: true }), "mod-enter")).toBe(true);
    writeSendKey("mod-enter");
    expect(localStorage.getItem("codesmith.sendKey")).toBe("mod-enter");
    expect(readSendKey()).toBe("mod-enter");
  });

  it("the composer sends on Enter, not on Shift+Enter", () => {
    const onSubmit = vi.fn();
    render(<Box onSubmit={onSubmit} />);
    const box = screen.getByLabelText("Prompt");
    fireEvent.keyDown(box, { key: "Enter", shiftKey: true });
    expect(onSubmit).not.toHaveBeenCalled();
    fireEvent.keyDown(box, { key: "Enter" });
    expect(onSubmit).toHaveBeenCalledTimes(1);
    expect(screen.getByText(/Enter to send · Shift\+Enter for a new line/)).toBeTruthy();
  });

  it("the setting switches the composer to Ctrl+Enter", () => {
    const onSubmit = vi.fn();
    render(
      <>
        <SendKeySetting />
        <Box onSubmit={onSubmit} />
      </>,
    );
    fireEvent.click(screen.getByRole("checkbox", { name: /Send with .*\+Enter/ }));
    const box = screen.getByLabelText("Prompt");
    fireEvent.keyDown(box, { key: "Enter" });
    expect(onSubmit).not.toHaveBeenCalled();
    fireEvent.keyDown(box, { key: "Enter", ctrlKey: true });
    expect(onSubmit).toHaveBeenCalledTimes(1);
  });
});

describe("shortcuts", () => {
  const target = document.createElement("div");
  const event = (keyName: string, extra: Partial<KeyboardEvent> = {}) =>
    ({ key: keyName, ctrlKey: false, metaKey: false, altKey: false, target, defaultPrevented: false, ...extra }) as Pick<
      KeyboardEvent,
      "key" | "ctrlKey" | "metaKey" | "altKey" | "target" | "defaultPrevented"
    >;

  it("maps n, / and ? outside fields", () => {
    expect(shortcutFor(event("n"))).toBe("new");
    expect(shortcutFor(event("/"))).toBe("search");
    expect(shortcutFor(event("?"))).toBe("help");
    expect(shortcutFor(event("x"))).toBeNull();
    expect(shortcutFor(event("n", { ctrlKey: true }))).toBeNull();
  });

  it("never fires while typing", () => {
    expect(shortcutFor(event("n", { target: document.createElement("textarea") }))).toBeNull();
    expect(shortcutFor(event("/", { target: document.createElement("input") }))).toBeNull();
  });
});

describe("the undo toast", () => {
  function Deleter({ onExpire, onUndo }: { onExpire: () => void; onUndo: () => void }) {
    const toast = useToast();
    return (
      <button type="button" onClick={() => toast({ message: "Deleted “x”.", actionLabel: "Undo", onAction: onUndo, onExpire })}>
        delete
      </button>
    );
  }

  it("runs the deferred action when it expires", () => {
    vi.useFakeTimers();
    const onExpire = vi.fn();
    const onUndo = vi.fn();
    render(
      <ToastProvider>
        <Deleter onExpire={onExpire} onUndo={onUndo} />
      </ToastProvider>,
    );
    fireEvent.click(screen.getByText("delete"));
    expect(screen.getByRole("status").textContent).toContain("Deleted “x”.");
    act(() => void vi.advanceTimersByTime(4900));
    expect(onExpire).not.toHaveBeenCalled();
    act(() => void vi.advanceTimersByTime(200));
    expect(onExpire).toHaveBeenCalledTimes(1);
    expect(onUndo).not.toHaveBeenCalled();
  });

  it("Undo cancels it", () => {
    vi.useFakeTimers();
    const onExpire = vi.fn();
    const onUndo = vi.fn();
    render(
      <ToastProvider>
        <Deleter onExpire={onExpire} onUndo={onUndo} />
      </ToastProvider>,
    );
    fireEvent.click(screen.getByText("delete"));
    fireEvent.click(screen.getByRole("button", { name: "Undo" }));
    act(() => void vi.advanceTimersByTime(10_000));
    expect(onUndo).toHaveBeenCalledTimes(1);
    expect(onExpire).not.toHaveBeenCalled();
  });
});

describe("usage chart labels", () => {
  it("are larger on a phone, where the chart is scaled down", () => {
    expect(labelClass(true)).toBe("text-[22px]");
    expect(labelClass(false)).toBe("text-[11px]");
  });
});
