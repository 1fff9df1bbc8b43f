/** Settings: the OpenAI key (write-only), personal API tokens, the password, and your data. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "../api/client";
import { ApiError, errorMessage } from "../api/errors";
import { keys, useApiTokens, useMe } from "../api/queries";
import type { ApiToken, ApiTokenCreated } from "../api/types";
import { ClientSetup } from "../components/ClientSetup";
import { ConfirmDialog } from "../components/Dialog";
import { SendKeySetting } from "../components/SendKeySetting";
import { YourData } from "../components/YourData";
import { CheckIcon, CopyIcon, KeyIcon, TrashIcon } from "../components/icons";
import { Alert, Badge, Button, Card, CardTitle, Field, PageHeader, Skeleton, inputClass } from "../components/ui";
import { requestToken } from "../lib/auth";
import { setSession } from "../lib/session";
import { copyText } from "../lib/clipboard";
import { dateTime, timeAgo } from "../lib/format";

export default function Settings() {
  return (
    <div className="mx-auto w-full max-w-3xl space-y-6 px-4 py-6 sm:px-6 sm:py-8">
      <PageHeader title="Settings" description="Your keys, API tokens, password and data." />
      <OpenAIKeyCard />
      <ApiTokensCard />
      <PasswordCard />
      <Card>
        <CardTitle title="Composer" description="How the prompt box sends what you type." />
        <SendKeySetting />
      </Card>
      <CheckedCodeCard />
      <YourData />
    </div>
  );
}

/** The automatic repair: when an answer's code fails its check, ask the model once more with the problems. */
function CheckedCodeCard() {
  const me = useMe();
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: (autoRepair: boolean) => unwrap(api.PATCH("/api/v1/users/me", { body: { auto_repair: autoRepair } })),
    onSuccess: (user) => client.setQueryData(keys.me, user),
  });
  const user = me.data;
  const available = user?.auto_repair_available ?? false;
  return (
    <Card>
      <CardTitle title="Checked code" description="Every code block of an answer is checked (syntax, undefined names…) and shows what the check found." />
      {user ? (
        <div className="space-y-2 text-sm">
          <label className="flex items-start gap-2">
            <input
              type="checkbox"
              role="switch"
              checked={save.isPending ? Boolean(save.variables) : user.auto_repair}
              disabled={!available || save.isPending}
              onChange={(event) => save.mutate(event.target.checked)}
              aria-describedby="auto-repair-note"
              className="mt-0.5 size-4 rounded border-zinc-300 text-indigo-600 disabled:opacity-50 dark:border-zinc-600"
            />
            <span>
              <span className="font-medium">Repair code that fails its check</span>
              <span id="auto-repair-note" className="block text-xs text-zinc-500">
                {available
                  ? "Once per answer, the model gets the problems and writes a new version; both versions stay. Its tokens count like any answer's."
                  : "This server does not repair answers (its administrator turned automatic repair off)."}
              </span>
            </span>
          </label>
          {save.isError ? <p className="text-xs text-red-700 dark:text-red-300">{errorMessage(save.error)}</p> : null}
        </div>
      ) : (
        <Skeleton className="h-10 w-full" />
      )}
    </Card>
  );
}

function OpenAIKeyCard() {
  const me = useMe();
  const client = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [key, setKey] = useState("");
  const [confirmRemove, setConfirmRemove] = useState(false);
  const save = useMutation({
    mutationFn: (apiKey: string) => unwrap(api.PUT("/api/v1/users/me/openai-key", { body: { api_key: apiKey } })),
    onSuccess: () => {
      setKey("");
      setEditing(false);
      void client.invalidateQueries({ queryKey: keys.me });
      void client.invalidateQueries({ queryKey: keys.models });
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/users/me/openai-key")),
    onSuccess: () => {
      setConfirmRemove(false);
      void client.invalidateQueries({ queryKey: keys.me });
      void client.invalidateQueries({ queryKey: keys.models });
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (key.trim()) save.mutate(key.trim());
  }

  const user = me.data;
  return (
    <Card>
      <CardTitle title="OpenAI API key" description="Used when you generate with OpenAI models. It is stored encrypted and never shown again, only its last characters." />
      {me.isPending ? (
        <Skeleton className="h-10 w-full" />
      ) : user ? (
        <div className="space-y-4">
          <div className="flex flex-wrap items-center gap-3">
            <KeyIcon className="text-zinc-500" />
            {user.has_openai_key ? (
              <>
                <code className="rounded bg-zinc-100 px-2 py-1 font-mono text-sm dark:bg-zinc-800">{user.openai_key_hint ?? "sk-…"}</code>
                {user.openai_key_verified ? (
                  <Badge tone="green">Verified with OpenAI</Badge>
                ) : (
                  <span title="OpenAI could not be reached when the key was saved: it is used, but was not checked.">
                    <Badge tone="amber">Saved, not verified</Badge>
                  </span>
                )}
              </>
            ) : (
              <span className="text-sm text-zinc-600 dark:text-zinc-400">No key saved.</span>
            )}
            <span className="ml-auto flex gap-2">
              {!editing ? (
                <Button size="sm" onClick={() => setEditing(true)}>
                  {user.has_openai_key ? "Replace" : "Add key"}
                </Button>
              ) : null}
              {user.has_openai_key ? (
                <Button size="sm" variant="ghost" onClick={() => setConfirmRemove(true)}>
                  Remove
                </Button>
              ) : null}
            </span>
          </div>
          {editing ? (
            <form onSubmit={submit} className="flex flex-col gap-2 sm:flex-row sm:items-start">
              <Field
                className="flex-1"
                label={user.has_openai_key ? "New key" : "Key"}
                type="password"
                autoComplete="off"
                spellCheck={false}
                autoFocus
                placeholder="sk-…"
                value={key}
                onChange={(e) => setKey(e.target.value)}
                error={save.isError ? errorMessage(save.error) : undefined}
              />
              <div className="flex gap-2 sm:mt-7">
                <Button type="submit" variant="primary" busy={save.isPending} disabled={!key.trim()}>
                  Save
                </Button>
                <Button
                  onClick={() => {
                    setEditing(false);
                    setKey("");
                    save.reset();
                  }}
                >
                  Cancel
                </Button>
              </div>
            </form>
          ) : null}
        </div>
      ) : (
        <Alert title="Could not load your account">{errorMessage(me.error)}</Alert>
      )}
      <ConfirmDialog
        open={confirmRemove}
        title="Remove your OpenAI key?"
        confirmLabel="Remove key"
        busy={remove.isPending}
        onCancel={() => setConfirmRemove(false)}
        onConfirm={() => remove.mutate()}
        message={<p>OpenAI models will stop working for you until you add a key again (unless the server provides one).</p>}
      />
    </Card>
  );
}

const EXPIRY_OPTIONS = [
  { label: "30 days", days: 30 },
  { label: "90 days", days: 90 },
  { label: "1 year", days: 365 },
  { label: "Never", days: 0 },
];

function ApiTokensCard() {
  const tokens = useApiTokens();
  const client = useQueryClient();
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState(90);
  const [created, setCreated] = useState<ApiTokenCreated | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const create = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/users/me/api-tokens", { body: { name: name.trim(), ...(expiry ? { expires_in_days: expiry } : {}) } })),
    onSuccess: (token) => {
      setCreated(token);
      setName("");
      void client.invalidateQueries({ queryKey: keys.apiTokens });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/users/me/api-tokens/{token_id}", { params: { path: { token_id: id } } })),
    onSuccess: () => {
      setRevoking(null);
      void client.invalidateQueries({ queryKey: keys.apiTokens });
    },
  });

  return (
    <Card>
      <CardTitle title="Personal API tokens" description="For scripts and tools: send one as “Authorization: Bearer csk_…”. A token is shown once, when you create it." />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (name.trim()) create.mutate();
        }}
        className="flex flex-col gap-2 sm:flex-row sm:items-end"
      >
        <Field className="flex-1" label="Token name" placeholder="CI pipeline" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />
        <div>
          <label htmlFor="token-expiry" className="mb-1.5 block text-sm font-medium text-zinc-800 dark:text-zinc-200">
            Expires
          </label>
          <select id="token-expiry" value={expiry} onChange={(e) => setExpiry(Number(e.target.value))} className={`${inputClass} h-[38px] sm:w-32`}>
            {EXPIRY_OPTIONS.map((option) => (
              <option key={option.days} value={option.days}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
        <Button type="submit" variant="primary" busy={create.isPending} disabled={!name.trim()}>
          Create token
        </Button>
      </form>
      {create.isError ? <p className="mt-2 text-sm text-red-600 dark:text-red-400">{errorMessage(create.error)}</p> : null}
      {created ? <NewToken token={created} onDismiss={() => setCreated(null)} /> : null}

      <div className="mt-5">
        {tokens.isPending ? (
          <Skeleton className="h-16 w-full" />
        ) : tokens.isError ? (
          <Alert title="Could not load tokens">{errorMessage(tokens.error)}</Alert>
        ) : tokens.data.items.length === 0 ? (
          <p className="text-sm text-zinc-500">No tokens yet.</p>
        ) : (
          <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
            {tokens.data.items.map((token) => (
              <li key={token.id} className="flex flex-wrap items-center gap-3 px-4 py-3">
                <div className="min-w-0 flex-1">
                  <p className="truncate text-sm font-medium">{token.name}</p>
                  <p className="text-xs text-zinc-500">
                    Created {timeAgo(token.created_at)} · {token.last_used_at ? `last used ${timeAgo(token.last_used_at)}` : "never used"} ·{" "}
                    {token.expires_at ? `expires ${dateTime(token.expires_at)}` : "no expiry"}
                  </p>
                </div>
                <Button size="sm" variant="ghost" onClick={() => setRevoking(token)} aria-label={`Revoke ${token.name}`}>
                  <TrashIcon /> Revoke
                </Button>
              </li>
            ))}
          </ul>
        )}
      </div>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke “${revoking?.name ?? ""}”?`}
        confirmLabel="Revoke token"
        busy={revoke.isPending}
        onCancel={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking.id)}
        message={<p>Anything using this token stops working at once.</p>}
      />
      <ClientSetup token={created?.token} />
    </Card>
  );
}

function NewToken({ token, onDismiss }: { token: ApiTokenCreated; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div role="status" className="mt-4 rounded-xl border border-emerald-300 bg-emerald-50 p-4 dark:border-emerald-900 dark:bg-emerald-950/40">
      <p className="text-sm font-semibold text-emerald-900 dark:text-emerald-200">Copy your new token now. You will not see it again.</p>
      <div className="mt-3 flex gap-2">
        <label htmlFor="new-token" className="sr-only">
          New token
        </label>
        <input id="new-token" readOnly value={token.token} onFocus={(e) => e.currentTarget.select()} className={`${inputClass} font-mono`} />
        <Button variant="primary" onClick={() => copyText(token.token).then(() => setCopied(true))}>
          {copied ? <CheckIcon /> : <CopyIcon />} {copied ? "Copied" : "Copy"}
        </Button>
      </div>
      <button type="button" onClick={onDismiss} className="mt-3 text-sm font-medium text-emerald-900 underline dark:text-emerald-200">
        I have saved it
      </button>
    </div>
  );
}

function PasswordCard() {
  const me = useMe();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [done, setDone] = useState(false);
  const change = useMutation({
    mutationFn: async () => {
      await unwrap(api.POST("/api/v1/users/me/password", { body: { current_password: current, new_password: next } }));
      // Earlier tokens stop working: sign in again with the new password so this tab carries on.
      // The change ended every session (refresh tokens too): sign in again with the new password.
      if (me.data) setSession(await requestToken(me.data.email, next));
    },
    onSuccess: () => {
      setCurrent("");
      setNext("");
      setDone(true);
    },
  });
  const error = change.error instanceof ApiError ? change.error : null;
  const wrongCurrent = error?.code === "invalid_credentials" || error?.fieldError("current_password");

  return (
    <Card>
      <CardTitle title="Password" description="Changing it signs out every other session." />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setDone(false);
          change.mutate();
        }}
        className="grid gap-4 sm:grid-cols-2"
        noValidate
      >
        <Field label="Current password" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} error={wrongCurrent ? "That is not your current password." : undefined} />
        <Field
          label="New password"
          type="password"
          autoComplete="new-password"
          minLength={8}
          maxLength={128}
          value={next}
          onChange={(e) => setNext(e.target.value)}
          hint="At least 8 characters."
          error={error?.fieldError("new_password")}
        />
        <div className="flex items-center gap-3 sm:col-span-2">
          <Button type="submit" variant="primary" busy={change.isPending} disabled={!current || next.length < 8}>
            Change password
          </Button>
          <span aria-live="polite" className="text-sm">
            {done ? <span className="text-emerald-700 dark:text-emerald-400">Password changed.</span> : null}
            {change.isError && !wrongCurrent && !error?.fieldError("new_password") ? (
              <span className="text-red-600 dark:text-red-400">{errorMessage(change.error)}</span>
            ) : null}
          </span>
        </div>
      </form>
    </Card>
  );
}
