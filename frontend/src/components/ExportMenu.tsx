/** A conversation's Export menu: Markdown to read, JSON to import elsewhere. */
import { useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import { errorMessage } from "../api/errors";
import { saveDownload } from "../lib/download";
import { DownloadIcon } from "./icons";
import { useToast } from "./Toast";
import { Button } from "./ui";

type Format = "markdown" | "json";

const FORMATS: { format: Format; label: string; hint: string; extension: string }[] = [
  { format: "markdown", label: "Markdown", hint: "To read or share: requests, answers, every version", extension: "md" },
  { format: "json", label: "JSON", hint: "To import into Codesmith again", extension: "json" },
];

export function ExportMenu({ conversationId }: { conversationId: string }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const toast = useToast();

  useEffect(() => {
    if (!open) return;
    root.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const onPointer = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", onPointer);
    return () => document.removeEventListener("pointerdown", onPointer);
  }, [open]);

  async function download(format: Format, extension: string) {
    setOpen(false);
    setBusy(true);
    try {
      await saveDownload(
        api.GET("/api/v1/conversations/{conversation_id}/export", {
          params: { path: { conversation_id: conversationId }, query: { format } },
          parseAs: "blob",
        }),
        `conversation.${extension}`,
      );
    } catch (error) {
      toast({ message: `Export failed: ${errorMessage(error)}` });
    } finally {
      setBusy(false);
    }
  }

  function onMenuKey(event: React.KeyboardEvent) {
    const items = [...(root.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    if (event.key === "Escape") {
      event.preventDefault();
      setOpen(false);
      button.current?.focus();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      items[(at + step + items.length) % items.length]?.focus();
    }
  }

  return (
    <div ref={root} className="relative">
      <Button
        ref={button}
        size="sm"
        variant="ghost"
        busy={busy}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label="Export conversation"
        title="Export"
        onClick={() => setOpen((was) => !was)}
      >
        <DownloadIcon />
      </Button>
      {open ? (
        <div
          role="menu"
          aria-label="Export as"
          onKeyDown={onMenuKey}
          className="absolute right-0 z-20 mt-1 w-72 rounded-xl border border-zinc-200 bg-white p-1 shadow-lg dark:border-zinc-800 dark:bg-zinc-900"
        >
          {FORMATS.map(({ format, label, hint, extension }) => (
            <button
              key={format}
              type="button"
              role="menuitem"
              onClick={() => void download(format, extension)}
              className="block w-full rounded-lg px-3 py-2 text-left hover:bg-zinc-100 focus:bg-zinc-100 focus:outline-none dark:hover:bg-zinc-800 dark:focus:bg-zinc-800"
            >
              <span className="block text-sm font-medium">{label}</span>
              <span className="block text-xs text-zinc-500">{hint}</span>
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}
