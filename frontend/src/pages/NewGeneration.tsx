/** New generation: pick a model and (optionally) a language, describe the code, send. */
import { useEffect, useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError, errorMessage } from "../api/errors";
import { keys, useConversations, useModels } from "../api/queries";
import type { Conversation, Model } from "../api/types";
import { ModelPicker, statusInfo } from "../components/ModelPicker";
import { PromptBox } from "../components/PromptBox";
import { Alert, EmptyState, Skeleton, inputClass } from "../components/ui";
import { CpuIcon } from "../components/icons";
import { placeholderMessage, startGeneration } from "../lib/generations";
import { LANGUAGES } from "../lib/languages";
import { useDraft } from "../lib/drafts";
import { adviceFor } from "../lib/problems";
import { queryClient } from "../lib/queryClient";

/** The draft's place in localStorage (lib/drafts.ts). */
export const NEW_DRAFT = "new";

const EXAMPLES: { title: string; prompt: string; language: string }[] = [
  {
    title: "Parse a log file",
    prompt:
      "Write a function that reads an nginx access log and returns the 10 most requested paths with their counts, skipping static files (.css, .js, images).",
    language: "python",
  },
  {
    title: "Debounce hook",
    prompt: "Write a React hook useDebouncedValue(value, delayMs) with cleanup on unmount, plus a short usage example.",
    language: "typescript",
  },
  {
    title: "SQL report",
    prompt:
      "Given tables orders(id, customer_id, total, created_at) and customers(id, name, country), write a query for monthly revenue per country over the last 12 months.",
    language: "sql",
  },
  {
    title: "Concurrent fetcher",
    prompt: "Write a Go program that fetches a list of URLs concurrently with at most 5 requests at a time and prints each status code.",
    language: "go",
  },
];

/**
 * The model to preselect: the server's default for this user (the last one used while usable), else the
 * first usable one that answered its check, else the first usable one; never one the user cannot call.
 */
export function defaultModelId(models: Model[]): string | null {
  const usable = models.filter((model) => model.usable);
  return (
    usable.find((model) => model.is_default)?.id ??
    usable.find((model) => model.status === "ok")?.id ??
    usable[0]?.id ??
    null
  );
}

export default function NewGeneration() {
  const models = useModels();
  const conversations = useConversations("");
  const navigate = useNavigate();
  const [modelId, setModelId] = useState<string | null>(null);
  const [language, setLanguage] = useState("");
  const [prompt, setPrompt, clearPrompt] = useDraft(NEW_DRAFT);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (modelId === null && models.data) setModelId(defaultModelId(models.data));
  }, [models.data, modelId]);

  const firstTime = conversations.data?.pages[0]?.items.length === 0;
  const selected = models.data?.find((model) => model.id === modelId);

  // The server remembers the model of each generation: the next visit preselects it.
  function chooseModel(id: string) {
    setModelId(id);
  }

  async function send() {
    setBusy(true);
    setError(null);
    const text = prompt.trim();
    try {
      await startGeneration(
        { kind: "create", body: { prompt: text, ...(modelId ? { model_id: modelId } : {}), ...(language ? { language } : {}) } },
        (start) => {
          // Seed the conversation so its page shows the request and the answer at once.
          const now = new Date().toISOString();
          const seeded: Conversation = {
            id: start.conversation_id,
            title: text.split("\n")[0]!.slice(0, 80),
            model_id: start.model_id,
            language: language || null,
            source: "app",
            created_at: now,
            updated_at: now,
            messages: [
              placeholderMessage({ id: start.parent_id ?? `${start.message_id}-request`, conversation_id: start.conversation_id, role: "user", kind: "request", content: text }),
              placeholderMessage({ id: start.message_id, conversation_id: start.conversation_id, role: "assistant", parent_id: start.parent_id, model_id: start.model_id }),
            ],
          };
          queryClient.setQueryData(keys.conversation(start.conversation_id), seeded);
          clearPrompt();
          // The model just used is now this user's default.
          void queryClient.invalidateQueries({ queryKey: keys.models });
          void queryClient.invalidateQueries({ queryKey: keys.conversation(start.conversation_id) });
          void queryClient.invalidateQueries({ queryKey: ["conversations"] });
          navigate(`/c/${start.conversation_id}`);
        },
      );
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  if (models.isSuccess && !models.data.some((model) => model.usable)) {
    return (
      <div className="mx-auto max-w-3xl px-4 py-10 sm:px-6">
        <EmptyState
          icon={<CpuIcon />}
          title="First steps: give Codesmith a model"
          action={
            <div className="flex flex-wrap justify-center gap-2">
              <Link to="/settings" className="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500">
                Add your OpenAI key
              </Link>
              <Link to="/models" className="rounded-lg border border-zinc-300 px-4 py-2 text-sm font-medium hover:bg-zinc-50 dark:border-zinc-700 dark:hover:bg-zinc-800">
                Register a model server
              </Link>
            </div>
          }
        >
          None of the models here can be used yet. Add your OpenAI API key in Settings, or register a model server
          (vLLM, Ollama or any OpenAI-compatible endpoint) on the Models page.
          {prompt ? " Your draft is kept until you come back." : null}
        </EmptyState>
      </div>
    );
  }

  const advice = error instanceof ApiError ? adviceFor(error.code, error.problem.detail, error.retryAfter) : null;

  return (
    <div className="mx-auto flex w-full max-w-3xl flex-col px-4 py-8 sm:px-6 sm:py-12">
      <h1 className="text-2xl font-semibold tracking-tight sm:text-3xl">What should the code do?</h1>
      <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
        Describe it in plain language: inputs, outputs, edge cases. You can refine the answer with feedback afterwards.
      </p>

      <div className="mt-6 grid gap-4 sm:grid-cols-[1fr_15rem]">
        {models.isPending ? (
          <div>
            <Skeleton className="mb-1.5 h-4 w-12" />
            <Skeleton className="h-10 w-full" />
          </div>
        ) : models.isError ? (
          <Alert title="Could not load models">{errorMessage(models.error)}</Alert>
        ) : (
          <ModelPicker models={models.data} value={modelId} onChange={chooseModel} />
        )}
        <div>
          <label htmlFor="language" className="mb-1.5 block text-sm font-medium text-zinc-800 dark:text-zinc-200">
            Language <span className="font-normal text-zinc-500">(optional)</span>
          </label>
          <select id="language" value={language} onChange={(event) => setLanguage(event.target.value)} className={`${inputClass} h-10`}>
            <option value="">Let the model choose</option>
            {LANGUAGES.map((info) => (
              <option key={info.id} value={info.id}>
                {info.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      {selected && (selected.status === "unreachable" || selected.status === "unauthorized" || selected.status === "model_not_found") ? (
        <p className="mt-2 text-sm text-amber-700 dark:text-amber-400" role="status">
          The last check said “{statusInfo(selected.status).label}” for this model. It may fail;{" "}
          <Link to="/models" className="underline">
            check it again
          </Link>
          .
        </p>
      ) : null}

      <div className="mt-5">
        <PromptBox
          label="Describe the code you need"
          value={prompt}
          onChange={setPrompt}
          onSubmit={() => void send()}
          busy={busy}
          sendBlocked={!modelId && !models.isError}
          submitLabel="Generate"
          placeholder="e.g. A Python function that validates an IBAN and explains why it is invalid"
          autoFocus
          minRows={4}
        />
      </div>

      {error ? (
        <div className="mt-4">
          {advice ? (
            <Alert
              tone={advice.tone}
              title={advice.title}
              action={
                advice.link ? (
                  <Link to={advice.link.to} className="font-medium underline">
                    {advice.link.label}
                  </Link>
                ) : undefined
              }
            >
              {advice.advice}
            </Alert>
          ) : (
            <Alert title="Could not start the generation">{errorMessage(error)}</Alert>
          )}
        </div>
      ) : null}

      {firstTime && !prompt ? (
        <section aria-labelledby="examples-heading" className="mt-10">
          <h2 id="examples-heading" className="text-sm font-semibold text-zinc-700 dark:text-zinc-300">
            Not sure where to start? Try one of these
          </h2>
          <ul className="mt-3 grid gap-3 sm:grid-cols-2">
            {EXAMPLES.map((example) => (
              <li key={example.title}>
                <button
                  type="button"
                  onClick={() => {
                    setPrompt(example.prompt);
                    setLanguage(example.language);
                    document.getElementById("prompt-box")?.focus();
                  }}
                  className="h-full w-full rounded-xl border border-zinc-200 p-4 text-left hover:border-indigo-300 hover:bg-indigo-50/50 dark:border-zinc-800 dark:hover:border-indigo-800 dark:hover:bg-indigo-950/30"
                >
                  <span className="block text-sm font-medium">{example.title}</span>
                  <span className="mt-1 line-clamp-2 block text-sm text-zinc-600 dark:text-zinc-400">{example.prompt}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}
