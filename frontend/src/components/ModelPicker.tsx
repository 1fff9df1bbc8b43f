/** Model picker: a listbox of system and own models with their status, operable by keyboard. */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import type { Model, ModelStatus } from "../api/types";
import { CheckIcon, ChevronDownIcon } from "./icons";

const STATUS: Record<ModelStatus, { label: string; dot: string }> = {
  ok: { label: "Available", dot: "bg-emerald-500" },
  unknown: { label: "Not checked", dot: "bg-zinc-400" },
  unreachable: { label: "Unreachable", dot: "bg-red-500" },
  unauthorized: { label: "Key rejected", dot: "bg-red-500" },
  model_not_found: { label: "Model not found", dot: "bg-amber-500" },
};

// Own keys only: a status or provider the table does not know (a newer server) must not reach Object.prototype.
export function statusInfo(status: ModelStatus) {
  return Object.hasOwn(STATUS, status) ? STATUS[status] : STATUS.unknown;
}

export function StatusDot({ status }: { status: ModelStatus }) {
  return <span aria-hidden="true" className={`inline-block size-2 shrink-0 rounded-full ${statusInfo(status).dot}`} />;
}

const PROVIDERS: Record<Model["provider"], string> = {
  openai: "OpenAI",
  vllm: "vLLM",
  openai_compatible: "OpenAI-compatible",
};

export function providerLabel(provider: Model["provider"]): string {
  return Object.hasOwn(PROVIDERS, provider) ? PROVIDERS[provider] : provider;
}

export interface ModelPickerProps {
  models: Model[];
  value: string | null;
  onChange: (id: string) => void;
  label?: string;
}

export function ModelPicker({ models, value, onChange, label = "Model" }: ModelPickerProps) {
  const [open, setOpen] = useState(false);
  const ordered = [...models.filter((m) => m.owner === "system"), ...models.filter((m) => m.owner === "user")];
  const selected = ordered.find((model) => model.id === value) ?? null;
  const [active, setActive] = useState(0);
  const id = useId();
  const button = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    setActive(Math.max(0, ordered.findIndex((model) => model.id === value)));
    list.current?.focus();
    const onPointer = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", onPointer);
    return () => document.removeEventListener("pointerdown", onPointer);
  }, [open]);

  useEffect(() => {
    if (open) document.getElementById(`${id}-option-${active}`)?.scrollIntoView({ block: "nearest" });
  }, [active, open, id]);

  function choose(index: number) {
    const model = ordered[index];
    if (!model) return;
    onChange(model.id);
    setOpen(false);
    button.current?.focus();
  }

  function onListKey(event: KeyboardEvent) {
    const last = ordered.length - 1;
    const moves: Record<string, () => void> = {
      ArrowDown: () => setActive((i) => Math.min(last, i + 1)),
      ArrowUp: () => setActive((i) => Math.max(0, i - 1)),
      Home: () => setActive(0),
      End: () => setActive(last),
      Enter: () => choose(active),
      " ": () => choose(active),
      Escape: () => {
        setOpen(false);
        button.current?.focus();
      },
      Tab: () => setOpen(false),
    };
    const move = moves[event.key];
    if (!move) return;
    if (event.key !== "Tab") event.preventDefault();
    move();
  }

  function onButtonKey(event: KeyboardEvent) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      setOpen(true);
    }
  }

  return (
    <div ref={root} className="relative">
      <span id={`${id}-label`} className="mb-1.5 block text-sm font-medium text-zinc-800 dark:text-zinc-200">
        {label}
      </span>
      <button
        ref={button}
        type="button"
        aria-haspopup="listbox"
        aria-expanded={open}
        aria-labelledby={`${id}-label ${id}-value`}
        onClick={() => setOpen((was) => !was)}
        onKeyDown={onButtonKey}
        disabled={models.length === 0}
        className="flex h-10 w-full items-center gap-2 rounded-lg border border-zinc-300 bg-white px-3 text-left text-sm hover:border-zinc-400 disabled:opacity-60 dark:border-zinc-700 dark:bg-zinc-900 dark:hover:border-zinc-600"
      >
        {selected ? <StatusDot status={selected.status} /> : null}
        <span id={`${id}-value`} className="min-w-0 flex-1 truncate">
          {selected ? selected.name : models.length === 0 ? "No models yet" : "Choose a model"}
        </span>
        {selected ? <span className="hidden text-xs text-zinc-500 sm:inline">{statusInfo(selected.status).label}</span> : null}
        <ChevronDownIcon className="text-zinc-500" />
      </button>
      {open ? (
        <ul
          ref={list}
          role="listbox"
          tabIndex={-1}
          aria-labelledby={`${id}-label`}
          aria-activedescendant={`${id}-option-${active}`}
          onKeyDown={onListKey}
          className="absolute z-30 mt-1 max-h-80 w-full min-w-64 overflow-auto rounded-xl border border-zinc-200 bg-white p-1 shadow-lg focus:outline-none dark:border-zinc-700 dark:bg-zinc-900"
        >
          {ordered.map((model, index) => {
            const groupStart = index === 0 || ordered[index - 1]?.owner !== model.owner;
            return (
              <li key={model.id} role="presentation">
                {groupStart ? (
                  <div role="presentation" className="px-2 pb-1 pt-2 text-xs font-semibold uppercase tracking-wide text-zinc-500">
                    {model.owner === "system" ? "Provided" : "Your models"}
                  </div>
                ) : null}
                <div
                  id={`${id}-option-${index}`}
                  role="option"
                  aria-selected={model.id === value}
                  onClick={() => choose(index)}
                  onPointerMove={() => setActive(index)}
                  className={`flex cursor-pointer items-center gap-2 rounded-lg px-2 py-2 text-sm ${
                    index === active ? "bg-zinc-100 dark:bg-zinc-800" : ""
                  }`}
                >
                  <StatusDot status={model.status} />
                  <span className="min-w-0 flex-1">
                    <span className="block truncate font-medium">
                      {model.name}
                      {model.is_default ? <span className="ml-1.5 text-xs font-normal text-zinc-500">default</span> : null}
                    </span>
                    <span className="block truncate text-xs text-zinc-500">
                      {providerLabel(model.provider)} · {statusInfo(model.status).label}
                      {model.lora_adapter ? " · LoRA" : ""}
                    </span>
                  </span>
                  {model.id === value ? <CheckIcon className="text-indigo-600 dark:text-indigo-400" /> : null}
                </div>
              </li>
            );
          })}
        </ul>
      ) : null}
    </div>
  );
}
