/** Models: the system's and the user's own, their status, and registering vLLM / OpenAI-compatible / LoRA models. */
import { useId, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { ApiError, errorMessage } from "../api/errors";
import { useCheckModel, useCreateModel, useDeleteModel, useMe, useModels, useUpdateModel } from "../api/queries";
import type { Model, ModelCheck, ModelCreate, ModelUpdate, Provider } from "../api/types";
import { ConfirmDialog, Dialog } from "../components/Dialog";
import { CpuIcon, EditIcon, PlusIcon, RefreshIcon, TrashIcon } from "../components/icons";
import { StatusDot, providerLabel, statusInfo } from "../components/ModelPicker";
import { Alert, Badge, Button, EmptyState, Field, PageHeader, Skeleton, inputClass, type Tone } from "../components/ui";
import { formatNumber, formatUsd, timeAgo } from "../lib/format";

const STATUS_TONE: Record<Model["status"], Tone> = {
  ok: "green",
  unknown: "zinc",
  unreachable: "red",
  unauthorized: "red",
  model_not_found: "amber",
};

export default function Models() {
  const models = useModels();
  const me = useMe();
  const [editing, setEditing] = useState<Model | "new" | null>(null);
  const [deleting, setDeleting] = useState<Model | null>(null);
  const remove = useDeleteModel();
  const canEdit = (model: Model) => model.owner === "user" || Boolean(me.data?.is_admin);

  const system = models.data?.filter((model) => model.owner === "system") ?? [];
  const own = models.data?.filter((model) => model.owner === "user") ?? [];

  return (
    <div className="mx-auto w-full max-w-5xl px-4 py-6 sm:px-6 sm:py-8">
      <PageHeader
        title="Models"
        description="Generate with the provided models, or register your own vLLM or OpenAI-compatible server, with or without a LoRA adapter."
        actions={
          <Button variant="primary" onClick={() => setEditing("new")}>
            <PlusIcon /> Register a model
          </Button>
        }
      />
      {models.isPending ? (
        <div className="space-y-3">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-24 w-full rounded-xl" />
          ))}
        </div>
      ) : models.isError ? (
        <Alert title="Could not load models">{errorMessage(models.error)}</Alert>
      ) : (
        <div className="space-y-8">
          <ModelSection title="Provided" models={system} canEdit={canEdit} onEdit={setEditing} onDelete={setDeleting} empty="No system models are configured on this server." />
          <ModelSection
            title="Your models"
            models={own}
            canEdit={canEdit}
            onEdit={setEditing}
            onDelete={setDeleting}
            empty={
              <EmptyState
                icon={<CpuIcon />}
                title="No models of your own yet"
                action={
                  <Button variant="primary" onClick={() => setEditing("new")}>
                    <PlusIcon /> Register a model
                  </Button>
                }
              >
                Point Codesmith at any server that speaks the OpenAI API: vLLM, llama.cpp, Ollama, LM Studio or a hosted provider.
              </EmptyState>
            }
          />
        </div>
      )}

      <Dialog open={editing !== null} onClose={() => setEditing(null)} title={editing === "new" ? "Register a model" : `Edit ${editing?.name ?? ""}`}>
        {editing !== null ? <ModelForm model={editing === "new" ? null : editing} onDone={() => setEditing(null)} isAdmin={Boolean(me.data?.is_admin)} /> : null}
      </Dialog>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.name ?? "this model"}?`}
        confirmLabel="Delete model"
        busy={remove.isPending}
        onCancel={() => {
          setDeleting(null);
          remove.reset();
        }}
        onConfirm={() => deleting && remove.mutate(deleting.id, { onSuccess: () => setDeleting(null) })}
        message={
          <>
            <p>Past conversations keep their answers; new generations can no longer use this model.</p>
            {remove.isError ? <p className="mt-2 text-red-600 dark:text-red-400">{errorMessage(remove.error)}</p> : null}
          </>
        }
      />
    </div>
  );
}

interface SectionProps {
  title: string;
  models: Model[];
  empty: React.ReactNode;
  canEdit: (model: Model) => boolean;
  onEdit: (model: Model) => void;
  onDelete: (model: Model) => void;
}

function ModelSection({ title, models, empty, canEdit, onEdit, onDelete }: SectionProps) {
  // A generated id: the title has spaces, and aria-labelledby reads a space as a list of ids.
  const headingId = useId();
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId} className="mb-3 text-sm font-semibold uppercase tracking-wide text-zinc-500">
        {title}
      </h2>
      {models.length === 0 ? (
        typeof empty === "string" ? <p className="text-sm text-zinc-500">{empty}</p> : empty
      ) : (
        <ul className="space-y-3">
          {models.map((model) => (
            <ModelRow key={model.id} model={model} editable={canEdit(model)} onEdit={() => onEdit(model)} onDelete={() => onDelete(model)} />
          ))}
        </ul>
      )}
    </section>
  );
}

function ModelRow({ model, editable, onEdit, onDelete }: { model: Model; editable: boolean; onEdit: () => void; onDelete: () => void }) {
  const check = useCheckModel();
  const result: ModelCheck | undefined = check.data;
  return (
    <li className="rounded-xl border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900/50">
      <div className="flex flex-wrap items-start gap-3">
        <div className="min-w-0 flex-1">
          <div className="flex flex-wrap items-center gap-2">
            <h3 className="font-medium">{model.name}</h3>
            <Badge tone={Object.hasOwn(STATUS_TONE, model.status) ? STATUS_TONE[model.status] : "zinc"}>
              <StatusDot status={model.status} /> {statusInfo(model.status).label}
            </Badge>
            {model.is_default ? <Badge tone="indigo">Default</Badge> : null}
            {model.lora_adapter ? <Badge tone="indigo">LoRA</Badge> : null}
          </div>
          <dl className="mt-2 grid grid-cols-1 gap-x-6 gap-y-1 text-xs text-zinc-600 sm:grid-cols-2 dark:text-zinc-400">
            <Detail term="Provider">{providerLabel(model.provider)}</Detail>
            <Detail term="Upstream model">
              <code className="font-mono">{model.model}</code>
            </Detail>
            {model.base_url ? (
              <Detail term="Server">
                <code className="break-all font-mono">{model.base_url}</code>
              </Detail>
            ) : null}
            {model.lora_adapter ? (
              <Detail term="Adapter">
                <code className="break-all font-mono">{model.lora_adapter}</code>
              </Detail>
            ) : null}
            <Detail term="Context">{formatNumber(model.context_window)} tokens</Detail>
            <Detail term="Price per 1M tokens">
              {model.input_cost_per_mtok === null && model.output_cost_per_mtok === null
                ? "not priced"
                : `${formatUsd(model.input_cost_per_mtok ?? 0)} in · ${formatUsd(model.output_cost_per_mtok ?? 0)} out`}
            </Detail>
            <Detail term="Checked">{model.checked_at ? timeAgo(model.checked_at) : "never"}</Detail>
          </dl>
        </div>
        <div className="flex items-center gap-1">
          <Button size="sm" onClick={() => check.mutate(model.id)} busy={check.isPending} aria-label={`Check ${model.name}`}>
            {check.isPending ? null : <RefreshIcon />} Check
          </Button>
          {editable ? (
            <>
              <Button size="sm" variant="ghost" onClick={onEdit} aria-label={`Edit ${model.name}`}>
                <EditIcon />
              </Button>
              <Button size="sm" variant="ghost" onClick={onDelete} aria-label={`Delete ${model.name}`}>
                <TrashIcon />
              </Button>
            </>
          ) : null}
        </div>
      </div>
      <div aria-live="polite">
        {result ? (
          <p className={`mt-3 rounded-lg px-3 py-2 text-sm ${result.status === "ok" ? "bg-emerald-50 text-emerald-900 dark:bg-emerald-950/40 dark:text-emerald-200" : "bg-red-50 text-red-900 dark:bg-red-950/40 dark:text-red-200"}`}>
            {statusInfo(result.status).label}
            {result.latency_ms !== null ? ` in ${Math.round(result.latency_ms)} ms` : ""}
            {result.detail ? ` — ${result.detail}` : ""}
          </p>
        ) : check.isError ? (
          <p className="mt-3 text-sm text-red-600 dark:text-red-400">{errorMessage(check.error)}</p>
        ) : null}
      </div>
    </li>
  );
}

function Detail({ term, children }: { term: string; children: React.ReactNode }) {
  return (
    <div className="flex min-w-0 gap-1.5">
      <dt className="shrink-0 text-zinc-500">{term}:</dt>
      <dd className="min-w-0">{children}</dd>
    </div>
  );
}

interface FormState {
  name: string;
  provider: Provider;
  model: string;
  base_url: string;
  api_key: string;
  context_window: string;
  input_cost_per_mtok: string;
  output_cost_per_mtok: string;
  useLora: boolean;
  lora_adapter: string;
  system: boolean;
}

function initialState(model: Model | null): FormState {
  return {
    name: model?.name ?? "",
    provider: model?.provider ?? "vllm",
    model: model?.model ?? "",
    base_url: model?.base_url ?? "",
    api_key: "",
    context_window: model ? String(model.context_window) : "",
    input_cost_per_mtok: model?.input_cost_per_mtok != null ? String(model.input_cost_per_mtok) : "",
    output_cost_per_mtok: model?.output_cost_per_mtok != null ? String(model.output_cost_per_mtok) : "",
    useLora: Boolean(model?.lora_adapter),
    lora_adapter: model?.lora_adapter ?? "",
    system: model?.owner === "system",
  };
}

/** The create body: empty optional fields are left out so the server's defaults apply. */
export function createBody(state: FormState): ModelCreate {
  const body: ModelCreate = { name: state.name.trim(), provider: state.provider, model: state.model.trim() };
  if (state.base_url.trim()) body.base_url = state.base_url.trim();
  if (state.api_key.trim()) body.api_key = state.api_key.trim();
  if (state.context_window.trim()) body.context_window = Number(state.context_window);
  if (state.input_cost_per_mtok.trim()) body.input_cost_per_mtok = Number(state.input_cost_per_mtok);
  if (state.output_cost_per_mtok.trim()) body.output_cost_per_mtok = Number(state.output_cost_per_mtok);
  if (state.provider === "vllm" && state.useLora && state.lora_adapter.trim()) body.lora_adapter = state.lora_adapter.trim();
  if (state.system) body.system = true;
  return body;
}

/** The update body: what can change; a blank key field keeps the stored key. */
export function updateBody(state: FormState): ModelUpdate {
  const body: ModelUpdate = {
    name: state.name.trim(),
    model: state.model.trim(),
    base_url: state.base_url.trim() || null,
    input_cost_per_mtok: state.input_cost_per_mtok.trim() ? Number(state.input_cost_per_mtok) : null,
    output_cost_per_mtok: state.output_cost_per_mtok.trim() ? Number(state.output_cost_per_mtok) : null,
  };
  if (state.api_key.trim()) body.api_key = state.api_key.trim();
  if (state.context_window.trim()) body.context_window = Number(state.context_window);
  return body;
}

/** Which servers this model may use: the server-wide setting for users' own models, anything for system models. */
function HostPolicyNote({ system }: { system: boolean }) {
  const policy = useQuery({
    queryKey: ["models", "host-policy"],
    queryFn: () => unwrap(api.GET("/api/v1/models/host-policy")),
    staleTime: 5 * 60_000,
  });
  if (!policy.data) return null;
  if (system) return <span data-testid="host-policy">As a system model it may run on localhost or a private network (a local vLLM or Ollama).</span>;
  return policy.data.user_private_hosts ? (
    <span data-testid="host-policy">This server allows your models on localhost and private networks.</span>
  ) : (
    <span data-testid="host-policy">
      Public addresses only: localhost and private networks are refused for your own models
      {policy.data.system_private_hosts ? " (an administrator can add a local server as a system model)" : ""}.
    </span>
  );
}

function ModelForm({ model, onDone, isAdmin }: { model: Model | null; onDone: () => void; isAdmin: boolean }) {
  const [state, setState] = useState(() => initialState(model));
  const create = useCreateModel();
  const update = useUpdateModel();
  const mutation = model ? update : create;
  const error = mutation.error instanceof ApiError ? mutation.error : null;
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => setState((old) => ({ ...old, [key]: value }));
  const needsUrl = state.provider !== "openai";

  function submit(event: FormEvent) {
    event.preventDefault();
    if (model) update.mutate({ id: model.id, body: updateBody(state) }, { onSuccess: onDone });
    else create.mutate(createBody(state), { onSuccess: onDone });
  }

  const hostError = error?.code === "forbidden_model_host" ? error.message : error?.fieldError("base_url");
  const generalError = mutation.isError && !hostError && !error?.problem.errors?.length ? errorMessage(mutation.error) : null;

  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      {generalError ? <Alert title="Could not save the model">{generalError}</Alert> : null}
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Display name" required value={state.name} onChange={(e) => set("name", e.target.value)} placeholder="Qwen Coder on my GPU" error={error?.fieldError("name")} />
        <div>
          <label htmlFor="provider" className="mb-1.5 block text-sm font-medium text-zinc-800 dark:text-zinc-200">
            Provider
          </label>
          <select id="provider" disabled={Boolean(model)} value={state.provider} onChange={(e) => set("provider", e.target.value as Provider)} className={`${inputClass} h-[38px]`}>
            <option value="vllm">vLLM</option>
            <option value="openai_compatible">OpenAI-compatible</option>
            <option value="openai">OpenAI</option>
          </select>
        </div>
      </div>
      <Field
        label="Upstream model name"
        required
        value={state.model}
        onChange={(e) => set("model", e.target.value)}
        placeholder={state.provider === "openai" ? "gpt-4o-mini" : "Qwen/Qwen2.5-Coder-7B-Instruct"}
        hint={state.useLora ? "The name the adapter is served under." : "Exactly as the server lists it at /models."}
        error={error?.fieldError("model")}
        spellCheck={false}
      />
      {needsUrl ? (
        <Field
          label="Base URL"
          required
          type="url"
          value={state.base_url}
          onChange={(e) => set("base_url", e.target.value)}
          placeholder="https://vllm.example.com/v1"
          hint={<>Include the API version, as the OpenAI SDK expects: …/v1. <HostPolicyNote system={state.system} /></>}
          error={hostError}
          spellCheck={false}
        />
      ) : null}
      <Field
        label="API key"
        type="password"
        autoComplete="off"
        value={state.api_key}
        onChange={(e) => set("api_key", e.target.value)}
        placeholder={model?.has_api_key ? "•••••••• (kept; type to replace)" : "Optional"}
        hint="Stored encrypted and never shown again."
        error={error?.fieldError("api_key")}
      />
      <div className="grid gap-4 sm:grid-cols-3">
        <Field label="Context window" type="number" inputMode="numeric" min={1} value={state.context_window} onChange={(e) => set("context_window", e.target.value)} placeholder="32768" error={error?.fieldError("context_window")} />
        <Field label="$ / 1M input" type="number" inputMode="decimal" min={0} step="any" value={state.input_cost_per_mtok} onChange={(e) => set("input_cost_per_mtok", e.target.value)} placeholder="unpriced" error={error?.fieldError("input_cost_per_mtok")} />
        <Field label="$ / 1M output" type="number" inputMode="decimal" min={0} step="any" value={state.output_cost_per_mtok} onChange={(e) => set("output_cost_per_mtok", e.target.value)} placeholder="unpriced" error={error?.fieldError("output_cost_per_mtok")} />
      </div>
      {state.provider === "vllm" && !model ? (
        <div className="rounded-xl border border-zinc-200 p-3 dark:border-zinc-800">
          <label className="flex items-center gap-2 text-sm font-medium">
            <input type="checkbox" checked={state.useLora} onChange={(e) => set("useLora", e.target.checked)} className="size-4 accent-indigo-600" />
            Serve a LoRA adapter
          </label>
          {state.useLora ? (
            <Field
              className="mt-3"
              label="Adapter (Hugging Face id or path on the server)"
              value={state.lora_adapter}
              onChange={(e) => set("lora_adapter", e.target.value)}
              placeholder="my-org/python-style-lora"
              hint="Codesmith asks the vLLM server to load it (the server needs --enable-lora and runtime LoRA updating)."
              error={error?.fieldError("lora_adapter")}
              spellCheck={false}
            />
          ) : null}
        </div>
      ) : null}
      {isAdmin && !model ? (
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={state.system} onChange={(e) => set("system", e.target.checked)} className="size-4 accent-indigo-600" />
          Offer this model to every user (administrators)
        </label>
      ) : null}
      <div className="flex justify-end gap-2 pt-2">
        <Button onClick={onDone}>Cancel</Button>
        <Button type="submit" variant="primary" busy={mutation.isPending} disabled={!state.name.trim() || !state.model.trim() || (needsUrl && !state.base_url.trim())}>
          {model ? "Save changes" : "Register model"}
        </Button>
      </div>
    </form>
  );
}
