/** The prompt box: grows with its text, sends on Enter (Shift+Enter: a new line; or Ctrl/Cmd+Enter, as the
 * reader prefers), and shows the limit as it nears. */
import { forwardRef, useEffect, useImperativeHandle, useRef, type KeyboardEvent, type ReactNode } from "react";
import { isSendKey, useSendKey } from "../hooks/useSendKey";
import { SendIcon } from "./icons";
import { Spinner } from "./ui";

export interface PromptBoxProps {
  value: string;
  onChange: (value: string) => void;
  onSubmit: () => void;
  label: string;
  placeholder?: string;
  busy?: boolean;
  disabled?: boolean;
  /** Typing stays possible, only sending waits (e.g. until the models have loaded). */
  sendBlocked?: boolean;
  maxChars?: number;
  submitLabel?: string;
  /** Extra controls beside the send button. */
  toolbar?: ReactNode;
  autoFocus?: boolean;
  minRows?: number;
}

const isMac = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
export const MOD_KEY = isMac ? "⌘" : "Ctrl";
export const SEND_SHORTCUT = `${MOD_KEY} Enter`;
/** Phones' on-screen keyboards have no Shift+Enter habit: there Enter adds a line and the button sends. */
const coarsePointer = () => typeof window !== "undefined" && typeof window.matchMedia === "function" && window.matchMedia("(pointer: coarse)").matches;

export const PromptBox = forwardRef<HTMLTextAreaElement, PromptBoxProps>(function PromptBox(
  { value, onChange, onSubmit, label, placeholder, busy = false, disabled = false, sendBlocked = false, maxChars = 8000, submitLabel = "Send", toolbar, autoFocus, minRows = 3 },
  forwarded,
) {
  const area = useRef<HTMLTextAreaElement>(null);
  const [sendKey] = useSendKey();
  useImperativeHandle(forwarded, () => area.current as HTMLTextAreaElement);

  useEffect(() => {
    const element = area.current;
    if (!element) return;
    element.style.height = "auto";
    element.style.height = `${Math.min(element.scrollHeight, 360)}px`;
  }, [value]);

  const tooLong = value.length > maxChars;
  const canSend = value.trim().length > 0 && !tooLong && !busy && !disabled && !sendBlocked;

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    const typing = { key: event.key, shiftKey: event.shiftKey, ctrlKey: event.ctrlKey, metaKey: event.metaKey, altKey: event.altKey, isComposing: event.nativeEvent.isComposing };
    const mode = coarsePointer() ? "mod-enter" : sendKey;
    if (isSendKey(typing, mode)) {
      event.preventDefault();
      if (canSend) onSubmit();
    }
  }

  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        if (canSend) onSubmit();
      }}
      className="rounded-2xl border border-zinc-300 bg-white shadow-sm focus-within:border-indigo-500 focus-within:ring-2 focus-within:ring-indigo-500/25 dark:border-zinc-700 dark:bg-zinc-900"
    >
      <label className="sr-only" htmlFor="prompt-box">
        {label}
      </label>
      <textarea
        id="prompt-box"
        ref={area}
        value={value}
        rows={minRows}
        autoFocus={autoFocus}
        disabled={disabled}
        onChange={(event) => onChange(event.target.value)}
        onKeyDown={onKeyDown}
        placeholder={placeholder}
        aria-describedby="prompt-box-help"
        aria-invalid={tooLong || undefined}
        className="block max-h-[360px] w-full resize-none rounded-t-2xl bg-transparent px-4 pt-3 text-[15px] leading-relaxed placeholder:text-zinc-400 focus:outline-none"
      />
      <div className="flex flex-wrap items-center gap-2 px-3 pb-3 pt-1">
        {toolbar}
        <span id="prompt-box-help" className={`ml-auto text-xs ${tooLong ? "text-red-600 dark:text-red-400" : "text-zinc-500"}`}>
          {tooLong
            ? `${value.length - maxChars} characters over the limit`
            : value.length > maxChars * 0.8
              ? `${maxChars - value.length} characters left`
              : <span className="hidden sm:inline">{sendKey === "enter" ? "Enter to send · Shift+Enter for a new line" : `${SEND_SHORTCUT} to send`}</span>}
        </span>
        <button
          type="submit"
          disabled={!canSend}
          className="inline-flex h-9 items-center gap-2 rounded-lg bg-indigo-600 px-3.5 text-sm font-medium text-white shadow-sm hover:bg-indigo-500 disabled:cursor-not-allowed disabled:opacity-50"
        >
          {busy ? <Spinner /> : <SendIcon />}
          {submitLabel}
        </button>
      </div>
    </form>
  );
});
