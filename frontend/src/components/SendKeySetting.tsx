/** The composer's send-key preference as a checkbox: for the Settings page and the shortcuts dialog. */
import { useId } from "react";
import { useSendKey } from "../hooks/useSendKey";
import { MOD_KEY } from "./PromptBox";

export function SendKeySetting() {
  const [sendKey, setSendKey] = useSendKey();
  const id = useId();
  return (
    <div className="flex items-start gap-2 text-sm">
      <input
        id={id}
        type="checkbox"
        checked={sendKey === "mod-enter"}
        onChange={(event) => setSendKey(event.target.checked ? "mod-enter" : "enter")}
        className="mt-0.5 size-4 rounded border-zinc-300 text-indigo-600 dark:border-zinc-600"
      />
      <label htmlFor={id}>
        <span className="font-medium">Send with {MOD_KEY}+Enter</span>
        <span className="block text-xs text-zinc-500">
          {sendKey === "mod-enter" ? "Enter adds a new line." : `Off: Enter sends, Shift+Enter adds a new line.`}
        </span>
      </label>
    </div>
  );
}
