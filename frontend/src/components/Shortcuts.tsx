/** Keyboard shortcuts for the signed-in pages, and the `?` dialog that lists them (with the send-key setting). */
import { useEffect, useState } from "react";
import { useNavigate } from "react-router";
import { Dialog } from "./Dialog";
import { SendKeySetting } from "./SendKeySetting";
import { MOD_KEY } from "./PromptBox";
import { useSendKey } from "../hooks/useSendKey";

export const SEARCH_INPUT_ID = "home-search";
const OPEN_EVENT = "codesmith:shortcuts";

/** Opens the shortcuts dialog from a button anywhere. */
export function openShortcuts() {
  window.dispatchEvent(new Event(OPEN_EVENT));
}

/** Typing in a field never triggers a single-key shortcut. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

export type ShortcutAction = "new" | "search" | "help";

/** The action a keydown asks for, or null. Single keys only outside fields and without modifiers. */
export function shortcutFor(event: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "altKey" | "target" | "defaultPrevented">): ShortcutAction | null {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return null;
  if (event.key === "?") return "help";
  if (event.key === "n" || event.key === "N") return "new";
  if (event.key === "/") return "search";
  return null;
}

function focusSearch(): boolean {
  const search = document.getElementById(SEARCH_INPUT_ID);
  search?.focus();
  return Boolean(search);
}

/** After navigating home, the search field appears once the page has loaded. */
function focusSearchSoon() {
  let tries = 0;
  const timer = window.setInterval(() => {
    if (focusSearch() || ++tries > 60) window.clearInterval(timer);
  }, 50);
}

export function Shortcuts() {
  const [open, setOpen] = useState(false);
  const navigate = useNavigate();

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const action = shortcutFor(event);
      if (!action || document.querySelector("dialog[open]")) return;
      event.preventDefault();
      if (action === "help") setOpen(true);
      else if (action === "new") void navigate("/new");
      else {
        if (!focusSearch()) {
          void navigate("/");
          focusSearchSoon();
        }
      }
    };
    const onOpen = () => setOpen(true);
    window.addEventListener("keydown", onKey);
    window.addEventListener(OPEN_EVENT, onOpen);
    return () => {
      window.removeEventListener("keydown", onKey);
      window.removeEventListener(OPEN_EVENT, onOpen);
    };
  }, [navigate]);

  return (
    <Dialog open={open} onClose={() => setOpen(false)} title="Keyboard shortcuts">
      <ShortcutList />
      <div className="mt-4 border-t border-zinc-200 pt-4 dark:border-zinc-800">
        <SendKeySetting />
      </div>
    </Dialog>
  );
}

function ShortcutList() {
  const [sendKey] = useSendKey();
  const rows: [string, string][] = [
    ["N", "New generation"],
    ["/", "Search your work"],
    ["?", "Show these shortcuts"],
    [sendKey === "enter" ? "Enter" : `${MOD_KEY} Enter`, "Send from the composer"],
    [sendKey === "enter" ? "Shift Enter" : "Enter", "New line in the composer"],
    ["Esc", "Close a dialog"],
  ];
  return (
    <dl className="grid grid-cols-[auto_1fr] items-center gap-x-4 gap-y-2 text-sm">
      {rows.map(([keys, what]) => (
        <div key={what} className="contents">
          <dt>
            <kbd className="rounded border border-zinc-300 bg-zinc-50 px-1.5 py-0.5 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-800">{keys}</kbd>
          </dt>
          <dd className="text-zinc-700 dark:text-zinc-300">{what}</dd>
        </div>
      ))}
    </dl>
  );
}
