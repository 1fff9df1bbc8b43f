/**
 * Unsent prompts, kept per place (a conversation, the new-generation page) in localStorage, so a reload or
 * a session that ends and a new sign-in do not lose what was typed. Cleared when sent.
 */
import { useCallback, useState } from "react";

const PREFIX = "codesmith.draft:";

export function readDraft(place: string): string {
  try {
    return localStorage.getItem(PREFIX + place) ?? "";
  } catch {
    return "";
  }
}

export function writeDraft(place: string, text: string): void {
  try {
    if (text.trim()) localStorage.setItem(PREFIX + place, text);
    else localStorage.removeItem(PREFIX + place);
  } catch {
    // storage blocked or full: the draft lives as long as the page
  }
}

/** Forget every draft (signing out on purpose). */
export function clearDrafts(): void {
  try {
    for (let index = localStorage.length - 1; index >= 0; index -= 1) {
      const key = localStorage.key(index);
      if (key?.startsWith(PREFIX)) localStorage.removeItem(key);
    }
  } catch {
    // nothing stored
  }
}

/**
 * A text state backed by the draft of `place`: `[text, setText, clear]`. Every change is written at once
 * (a small string); `clear` forgets the draft (after sending).
 */
export function useDraft(place: string): [string, (text: string) => void, () => void] {
  const [state, setState] = useState(() => ({ place, text: readDraft(place) }));
  // Another place (a different conversation in the same component): its own draft.
  if (state.place !== place) setState({ place, text: readDraft(place) });
  const text = state.place === place ? state.text : readDraft(place);

  const setText = useCallback(
    (next: string) => {
      writeDraft(place, next);
      setState({ place, text: next });
    },
    [place],
  );
  const clear = useCallback(() => {
    writeDraft(place, "");
    setState({ place, text: "" });
  }, [place]);
  return [text, setText, clear];
}
