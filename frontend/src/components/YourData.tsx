/** Settings → Your data: export everything, import an export or ChatGPT's conversations.json, retention, leaving. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { api, unwrap } from "../api/client";
import { ApiError, errorMessage } from "../api/errors";
import { keys, useMe } from "../api/queries";
import type { ImportDocument, ImportResult, User } from "../api/types";
import { useAuth } from "../lib/auth";
import { saveDownload } from "../lib/download";
import { plural } from "../lib/format";
import { Dialog } from "./Dialog";
import { AlertIcon, DownloadIcon, TrashIcon } from "./icons";
import { Alert, Button, Card, CardTitle, Field, Skeleton, inputClass } from "./ui";

export function YourData() {
  return (
    <section aria-labelledby="your-data-heading" className="space-y-6">
      <h2 id="your-data-heading" className="pt-2 text-lg font-semibold tracking-tight">
        Your data
      </h2>
      <ExportCard />
      <ImportCard />
      <RetentionCard />
      <DeleteAccountCard />
    </section>
  );
}

function ExportCard() {
  const [saved, setSaved] = useState<string | null>(null);
  const download = useMutation({
    mutationFn: () =>
      saveDownload(api.GET("/api/v1/users/me/export", { parseAs: "blob" }), `codesmith-export-${new Date().toISOString().slice(0, 10)}.json`),
    onSuccess: setSaved,
  });
  return (
    <Card>
      <CardTitle
        level={3}
        title="Export everything"
        description="One JSON file with your conversations (every version of every answer), their snippets, your own models (without keys) and your settings. You can import it here or into another Codesmith."
      />
      <div className="flex flex-wrap items-center gap-3">
        <Button variant="primary" busy={download.isPending} onClick={() => download.mutate()}>
          <DownloadIcon /> Download export
        </Button>
        <span aria-live="polite" className="text-sm">
          {saved ? <span className="text-emerald-700 dark:text-emerald-400">Saved as {saved}.</span> : null}
          {download.isError ? <span className="text-red-600 dark:text-red-400">{errorMessage(download.error)}</span> : null}
        </span>
      </div>
    </Card>
  );
}

const SHOWN_PROBLEMS = 5;

/** What went wrong with an import, in words: too large, not a document we know, or anything else. */
export function importFailure(error: unknown): { title: string; lines: string[] } {
  if (error instanceof ApiError && error.status === 413) {
    return { title: "The file is too large", lines: [error.problem.detail ?? "This server refuses imports of that size."] };
  }
  if (error instanceof ApiError && error.status === 422) {
    const problems = error.problem.errors ?? [];
    const lines = problems.slice(0, SHOWN_PROBLEMS).map((item) => {
      const where = item.loc.filter((part) => part !== "body").join(" › ");
      return where ? `${where}: ${item.msg}` : item.msg;
    });
    if (problems.length > SHOWN_PROBLEMS) lines.push(`…and ${plural(problems.length - SHOWN_PROBLEMS, "more problem")}.`);
    return {
      title: "Nothing was imported: the file is not a Codesmith export or a ChatGPT conversations.json",
      lines: lines.length ? lines : [error.message],
    };
  }
  return { title: "The import failed", lines: [errorMessage(error)] };
}

function ImportCard() {
  const client = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const inputId = useId();
  const [file, setFile] = useState<File | null>(null);
  const upload = useMutation({
    // The file goes as it is: parsing a large export here only to send it again would cost memory for nothing.
    mutationFn: (chosen: File): Promise<ImportResult> =>
      unwrap(
        api.POST("/api/v1/users/me/import", {
          // The body's type is the document the file holds; the serializer sends the file's bytes unread.
          body: chosen as unknown as ImportDocument,
          bodySerializer: () => chosen,
          headers: { "Content-Type": "application/json" },
        }),
      ),
    onSuccess: () => {
      setFile(null);
      if (input.current) input.current.value = "";
      void client.invalidateQueries({ queryKey: ["conversations"] });
      void client.invalidateQueries({ queryKey: ["snippets"] });
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (file) upload.mutate(file);
  }

  return (
    <Card>
      <CardTitle
        level={3}
        title="Import conversations"
        description="From a Codesmith export, or from ChatGPT (Settings → Data controls → Export, then conversations.json from the archive). Importing the same file twice adds nothing."
      />
      <form onSubmit={submit} className="flex flex-col gap-3 sm:flex-row sm:items-end">
        <div className="flex-1">
          <label htmlFor={inputId} className="mb-1.5 block text-sm font-medium text-zinc-800 dark:text-zinc-200">
            File to import
          </label>
          <input
            ref={input}
            id={inputId}
            type="file"
            accept=".json,application/json"
            onChange={(event) => {
              setFile(event.target.files?.[0] ?? null);
              upload.reset();
            }}
            className={`${inputClass} file:mr-3 file:rounded-md file:border-0 file:bg-zinc-100 file:px-3 file:py-1 file:text-sm file:font-medium dark:file:bg-zinc-800 dark:file:text-zinc-100`}
          />
        </div>
        <Button type="submit" variant="primary" busy={upload.isPending} disabled={!file}>
          Import
        </Button>
      </form>
      <div aria-live="polite" className="mt-4 empty:hidden">
        {upload.isSuccess ? <ImportSummary result={upload.data} /> : null}
      </div>
      {upload.isError ? <ImportError error={upload.error} /> : null}
    </Card>
  );
}

function ImportSummary({ result }: { result: ImportResult }) {
  return (
    <div role="status" className="rounded-xl border border-emerald-300 bg-emerald-50 p-4 text-sm text-emerald-950 dark:border-emerald-900 dark:bg-emerald-950/40 dark:text-emerald-100">
      <p className="font-semibold">
        Imported {plural(result.imported, "conversation")}
        {result.skipped ? `; skipped ${plural(result.skipped, "conversation")} imported before` : ""}.
      </p>
      {result.errors.length ? (
        <>
          <p className="mt-2">{plural(result.errors.length, "conversation")} could not be imported:</p>
          <ul className="mt-1 list-disc space-y-0.5 pl-5">
            {result.errors.map((item) => (
              <li key={item.index}>
                {item.title || `Conversation ${item.index + 1}`}: {item.detail}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

function ImportError({ error }: { error: unknown }) {
  const { title, lines } = importFailure(error);
  return (
    <div className="mt-4">
      <Alert title={title}>
        <ul className="list-disc space-y-0.5 pl-5">
          {lines.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      </Alert>
    </div>
  );
}

function RetentionCard() {
  const me = useMe();
  return (
    <Card>
      <CardTitle
        level={3}
        title="Keep conversations for"
        description="Conversations you have not touched for longer are deleted automatically, with their snippets. Your usage figures stay."
      />
      {me.isPending ? <Skeleton className="h-10 w-full" /> : me.data ? <RetentionForm user={me.data} /> : <Alert title="Could not load your account">{errorMessage(me.error)}</Alert>}
    </Card>
  );
}

const MAX_RETENTION_DAYS = 3650;

function RetentionForm({ user }: { user: User }) {
  const client = useQueryClient();
  const limit = user.retention_limit_days;
  const [forever, setForever] = useState(user.retention_days == null);
  const [days, setDays] = useState(String(user.retention_days ?? limit ?? 365));
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: (retention: number | null) => unwrap(api.PATCH("/api/v1/users/me", { body: { retention_days: retention } })),
    onSuccess: (updated) => {
      client.setQueryData(keys.me, updated);
      setSaved(true);
    },
  });
  const max = limit ?? MAX_RETENTION_DAYS;
  const value = Number(days);
  const valid = forever || (Number.isInteger(value) && value >= 1 && value <= MAX_RETENTION_DAYS);
  const error = save.error instanceof ApiError ? save.error.fieldError("retention_days") ?? save.error.message : save.isError ? errorMessage(save.error) : undefined;

  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        setSaved(false);
        if (valid) save.mutate(forever ? null : value);
      }}
      className="space-y-4"
    >
      {limit ? (
        <p className="text-sm text-zinc-700 dark:text-zinc-300">
          This server deletes conversations after <strong>{plural(limit, "day")}</strong> without changes, whatever you choose here; you can choose a
          shorter period.
        </p>
      ) : null}
      <fieldset className="space-y-2">
        <legend className="sr-only">Retention</legend>
        <label className="flex items-center gap-2 text-sm">
          <input type="radio" name="retention" checked={forever} onChange={() => setForever(true)} className="accent-indigo-600" />
          {limit ? `As long as the server allows (${plural(limit, "day")})` : "Until I delete them"}
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="radio" name="retention" checked={!forever} onChange={() => setForever(false)} className="accent-indigo-600" />
          Delete after a number of days
        </label>
      </fieldset>
      {!forever ? (
        <Field
          className="max-w-xs"
          label="Days without changes"
          type="number"
          inputMode="numeric"
          min={1}
          max={max}
          value={days}
          onChange={(event) => setDays(event.target.value)}
          hint={limit ? `1 to ${limit} (longer periods count as ${limit}).` : `1 to ${MAX_RETENTION_DAYS}.`}
          error={!valid ? `Enter a whole number of days from 1 to ${MAX_RETENTION_DAYS}.` : error}
        />
      ) : null}
      <div className="flex items-center gap-3">
        <Button type="submit" variant="primary" busy={save.isPending} disabled={!valid}>
          Save retention
        </Button>
        <span aria-live="polite" className="text-sm">
          {saved ? <span className="text-emerald-700 dark:text-emerald-400">Saved.</span> : null}
          {forever && error ? <span className="text-red-600 dark:text-red-400">{error}</span> : null}
        </span>
      </div>
    </form>
  );
}

function DeleteAccountCard() {
  const [open, setOpen] = useState(false);
  return (
    <Card className="border-red-200 dark:border-red-900/60">
      <CardTitle level={3} title="Delete your account" description="Everything you keep here goes at once and for good. Download an export first if you want to keep anything." />
      <Button variant="danger" onClick={() => setOpen(true)}>
        <TrashIcon /> Delete account…
      </Button>
      <DeleteAccountDialog open={open} onClose={() => setOpen(false)} />
    </Card>
  );
}

function DeleteAccountDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { signOut } = useAuth();
  const navigate = useNavigate();
  const [password, setPassword] = useState("");
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/users/me", { body: { password } })),
    onSuccess: () => {
      // Sign-in is where a deleted account lands; it reads why the session ended.
      void navigate("/sign-in", { replace: true });
      signOut("account_deleted");
    },
  });
  const error = remove.error instanceof ApiError ? remove.error : null;
  const wrongPassword = Boolean(error?.fieldError("password")) || error?.code === "invalid_credentials";

  function close() {
    setPassword("");
    remove.reset();
    onClose();
  }

  return (
    <Dialog
      open={open}
      onClose={close}
      title="Delete your account?"
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button variant="danger" type="submit" form="delete-account-form" busy={remove.isPending} disabled={!password}>
            Delete my account
          </Button>
        </>
      }
    >
      <form
        id="delete-account-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (password) remove.mutate();
        }}
        className="space-y-4"
        noValidate
      >
        <div className="flex gap-3 rounded-xl bg-red-50 p-3 text-red-900 dark:bg-red-950/40 dark:text-red-200">
          <AlertIcon className="mt-0.5 shrink-0" />
          <div>
            <p className="font-semibold">This cannot be undone. Deleted at once:</p>
            <ul className="mt-1 list-disc pl-5">
              <li>every conversation, answer and snippet</li>
              <li>your own models and their keys, and your OpenAI key</li>
              <li>your personal API tokens and every signed-in session</li>
              <li>your usage history</li>
            </ul>
          </div>
        </div>
        <Field
          label="Your password"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={wrongPassword ? "That is not your password." : undefined}
        />
        {error?.code === "last_admin" ? (
          <Alert title="You are the last administrator">Make someone else an administrator first, then delete your account.</Alert>
        ) : remove.isError && !wrongPassword ? (
          <Alert title="Your account was not deleted">{errorMessage(remove.error)}</Alert>
        ) : null}
      </form>
    </Dialog>
  );
}
