/** Which key sends from the composer: Enter (Shift+Enter adds a line) or Ctrl/Cmd+Enter (Enter adds a line).
 * Stored in localStorage, shared by every composer and tab. */
import { useSyncExternalStore } from "react";

export type SendKey = "enter" | "mod-enter";
export const SEND_KEY_STORAGE = "codesmith.sendKey";
const CHANGED = "codesmith:send-key";

export function readSendKey(): SendKey {
  try {
    return localStorage.getItem(SEND_KEY_STORAGE) === "mod-enter" ? "mod-enter" : "enter";
  } catch {
    return "enter";
  }
}

export function writeSendKey(value: SendKey): void {
  try {
    if (value === "enter") localStorage.removeItem(SEND_KEY_STORAGE);
    else localStorage.setItem(SEND_KEY_STORAGE, value);
  } catch {
    // Private mode without storage: the choice lasts this page only.
  }
  window.dispatchEvent(new Event(CHANGED));
}

function subscribe(onChange: () => void): () => void {
  const onStorage = (event: StorageEvent) => {
    if (event.key === SEND_KEY_STORAGE || event.key === null) onChange();
  };
  window.addEventListener(CHANGED, onChange);
  window.addEventListener("storage", onStorage);
  return () => {
    window.removeEventListener(CHANGED, onChange);
    window.removeEventListener("storage", onStorage);
  };
}

export function useSendKey(): [SendKey, (value: SendKey) => void] {
  const value = useSyncExternalStore(subscribe, readSendKey, () => "enter" as SendKey);
  return [value, writeSendKey];
}

/** Whether a keydown in the composer sends, for the chosen key. IME composition never sends. */
export function isSendKey(
  event: { key: string; shiftKey: boolean; ctrlKey: boolean; metaKey: boolean; altKey?: boolean; isComposing?: boolean },
  sendKey: SendKey,
): boolean {
  if (event.key !== "Enter" || event.isComposing) return false;
  if (event.ctrlKey || event.metaKey) return true; // Ctrl/Cmd+Enter always sends
  if (sendKey === "mod-enter") return false;
  return !event.shiftKey && !event.altKey;
}
