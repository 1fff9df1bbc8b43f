/** How to use Codesmith from an editor or a script: the OpenAI-compatible base URL and a set-up snippet per client. */
import { useState } from "react";
import { useModels, useOpenAIModels } from "../api/queries";
import { copyText } from "../lib/clipboard";
import { CheckIcon, CopyIcon } from "./icons";
import { Button, inputClass } from "./ui";

export type ClientId = "python" | "curl" | "continue" | "aider";

export const CLIENTS: { id: ClientId; label: string }[] = [
  { id: "python", label: "openai SDK" },
  { id: "curl", label: "curl" },
  { id: "continue", label: "Continue" },
  { id: "aider", label: "Aider" },
];

export const TOKEN_PLACEHOLDER = "csk_YOUR_TOKEN";

/** The snippet that sets `client` up against `baseUrl` with `model` and `token`. */
export function snippet(client: ClientId, baseUrl: string, model: string, token: string): string {
  switch (client) {
    case "python":
      return [
        "from openai import OpenAI",
        "",
        `client = OpenAI(base_url="${baseUrl}", api_key="${token}")`,
        "reply = client.chat.completions.create(",
        `    model="${model}",`,
        '    messages=[{"role": "user", "content": "Write a Python function that merges two sorted lists"}],',
        ")",
        "print(reply.choices[0].message.content)",
      ].join("\n");
    case "curl":
      return [
        `curl ${baseUrl}/chat/completions \\`,
        `  -H "Authorization: Bearer ${token}" -H "Content-Type: application/json" \\`,
        `  -d '{"model": ${JSON.stringify(model)}, "messages": [{"role": "user", "content": "Write a bash script that renames *.jpeg to *.jpg"}]}'`,
      ].join("\n");
    case "continue":
      return [
        "# ~/.continue/config.yaml",
        "name: Codesmith",
        "version: 0.0.1",
        "schema: v1",
        "models:",
        "  - name: Codesmith",
        "    provider: openai",
        `    model: ${model}`,
        `    apiBase: ${baseUrl}`,
        `    apiKey: ${token}`,
        "    roles: [chat, edit, apply]",
      ].join("\n");
    case "aider":
      return [`export OPENAI_API_BASE=${baseUrl}`, `export OPENAI_API_KEY=${token}`, `aider --model openai/${model}`].join("\n");
  }
}

/** The base URL of the OpenAI-compatible API on this server. */
export function baseUrl(origin: string = globalThis.location.origin): string {
  return `${origin}/v1`;
}

export function ClientSetup({ token }: { token?: string }) {
  const [client, setClient] = useState<ClientId>("python");
  const [copied, setCopied] = useState<string | null>(null);
  const models = useModels();
  const openaiModels = useOpenAIModels();
  // The user's default model, under its id for OpenAI clients.
  const preferred = models.data?.find((model) => model.is_default) ?? models.data?.[0];
  const listed = openaiModels.data?.data ?? [];
  const model = listed.find((entry) => entry.codesmith_id === preferred?.id)?.id ?? listed[0]?.id ?? "MODEL_ID";
  const url = baseUrl();
  const text = snippet(client, url, model, token ?? TOKEN_PLACEHOLDER);

  const copy = (what: string, value: string) => {
    void copyText(value).then(() => setCopied(what));
  };

  return (
    <section aria-labelledby="client-setup-title" className="mt-6 border-t border-zinc-200 pt-5 dark:border-zinc-800">
      <h3 id="client-setup-title" className="text-sm font-semibold">
        Use Codesmith from your editor or scripts
      </h3>
      <p className="mt-0.5 text-sm text-zinc-600 dark:text-zinc-400">
        Codesmith speaks OpenAI’s chat-completions protocol: point a client at this base URL with a token as its key. Requests go
        through the same checks, limits and history as here.
      </p>
      <div className="mt-3 flex gap-2">
        <label htmlFor="openai-base-url" className="sr-only">
          Base URL
        </label>
        <input id="openai-base-url" readOnly value={url} onFocus={(e) => e.currentTarget.select()} className={`${inputClass} font-mono`} />
        <Button onClick={() => copy("url", url)} aria-label="Copy base URL">
          {copied === "url" ? <CheckIcon /> : <CopyIcon />} {copied === "url" ? "Copied" : "Copy"}
        </Button>
      </div>
      <div role="tablist" aria-label="Client" className="mt-4 flex flex-wrap gap-1">
        {CLIENTS.map((entry) => (
          <button
            key={entry.id}
            type="button"
            role="tab"
            id={`client-tab-${entry.id}`}
            aria-selected={client === entry.id}
            aria-controls="client-snippet"
            onClick={() => {
              setClient(entry.id);
              setCopied(null);
            }}
            className={`rounded-lg px-3 py-1.5 text-sm font-medium ${
              client === entry.id
                ? "bg-indigo-600 text-white"
                : "text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
            }`}
          >
            {entry.label}
          </button>
        ))}
      </div>
      <div id="client-snippet" role="tabpanel" aria-labelledby={`client-tab-${client}`} className="relative mt-2">
        <pre className="overflow-x-auto rounded-xl bg-zinc-950 p-4 pr-24 text-xs leading-relaxed text-zinc-100">
          <code>{text}</code>
        </pre>
        <Button size="sm" className="absolute right-2 top-2" onClick={() => copy(client, text)} aria-label="Copy snippet">
          {copied === client ? <CheckIcon /> : <CopyIcon />} {copied === client ? "Copied" : "Copy"}
        </Button>
      </div>
      <p className="mt-2 text-xs text-zinc-500">
        {token ? "The snippet carries your new token: copy it now." : `Replace ${TOKEN_PLACEHOLDER} with one of your tokens.`} See
        docs/openai-compatible.md for Cline and what is passed on or refused.
      </p>
    </section>
  );
}
