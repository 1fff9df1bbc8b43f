/** A conversation: the request, the streamed answer, versions, feedback, stop and regenerate. */
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { ApiError, errorMessage } from "../api/errors";
import { keys, useConversation, useModels, useRenameConversation } from "../api/queries";
import type { Conversation as ConversationData, Message, Model } from "../api/types";
import { ConfirmDialog } from "../components/Dialog";
import { ErrorBoundary } from "../components/ErrorBoundary";
import { ExportMenu } from "../components/ExportMenu";
import { JumpToLatest } from "../components/JumpToLatest";
import { Markdown } from "../components/Markdown";
import { PromptBox, SEND_SHORTCUT } from "../components/PromptBox";
import {
  CheckIcon,
  ChevronLeftIcon,
  ChevronRightIcon,
  CopyIcon,
  EditIcon,
  RefreshIcon,
  StopIcon,
  TrashIcon,
} from "../components/icons";
import { Alert, Button, Skeleton, Spinner, inputClass } from "../components/ui";
import { copyText } from "../lib/clipboard";
import { useDraft } from "../lib/drafts";
import { formatNumber, formatUsd, plural, timeAgo } from "../lib/format";
import {
  attachGeneration,
  isLive,
  onRepairStarted,
  placeholderMessage,
  startGeneration,
  stopGeneration,
  upsertMessage,
  useLiveGeneration,
} from "../lib/generations";
import { languageLabel } from "../lib/languages";
import { adviceFor, type ErrorAdvice } from "../lib/problems";
import { queryClient } from "../lib/queryClient";
import { chooseMessage, visiblePath, type PathStep } from "../lib/tree";
import { useFollowBottom } from "../hooks/useFollowBottom";
import { announceGeneration, useGenerationBroadcast } from "../hooks/useGenerationBroadcast";
import { useUndoableDeleteConversation } from "../hooks/useUndoableDelete";
import { useToast } from "../components/Toast";
import { DownloadIcon } from "../components/icons";
import { saveApiFile, snippetsZipPath } from "../lib/download";

// The diff library loads when a diff is shown.
const VersionDiff = lazy(() => import("../components/VersionDiff"));

const RUNNING: Message["status"][] = ["pending", "streaming"];

export default function Conversation() {
  const { conversationId = "" } = useParams();
  const conversation = useConversation(conversationId);
  const models = useModels();

  if (conversation.isPending) return <ThreadSkeleton />;
  if (conversation.isError) {
    const missing = conversation.error instanceof ApiError && conversation.error.status === 404;
    return (
      <div className="mx-auto max-w-3xl px-4 py-10">
        <Alert
          title={missing ? "This conversation does not exist" : "Could not load the conversation"}
          action={
            <Link to="/" className="font-medium underline">
              Back to your work
            </Link>
          }
        >
          {missing ? "It may have been deleted." : errorMessage(conversation.error)}
        </Alert>
      </div>
    );
  }
  return <Thread key={conversationId} conversation={conversation.data} models={models.data ?? []} />;
}

function ThreadSkeleton() {
  return (
    <div className="mx-auto w-full max-w-3xl px-4 py-8 sm:px-6" role="status" aria-label="Loading conversation">
      <Skeleton className="h-6 w-2/3" />
      <Skeleton className="ml-auto mt-8 h-16 w-3/4 rounded-2xl" />
      <Skeleton className="mt-6 h-4 w-full" />
      <Skeleton className="mt-2 h-4 w-5/6" />
      <Skeleton className="mt-4 h-40 w-full rounded-xl" />
    </div>
  );
}

function Thread({ conversation, models }: { conversation: ConversationData; models: Model[] }) {
  const [chosen, setChosen] = useState<Record<string, string>>({});
  // Unsent feedback survives reloads and a new sign-in (lib/drafts.ts); setFeedback("") after sending clears it.
  const [feedback, setFeedback] = useDraft(`conversation:${conversation.id}`);
  const [modelId, setModelId] = useState<string | null>(conversation.model_id);
  const [sending, setSending] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const path = useMemo(() => visiblePath(conversation.messages, chosen), [conversation.messages, chosen]);
  const last = path.at(-1)?.message;
  const running = conversation.messages.find((message) => RUNNING.includes(message.status));
  const bottom = useRef<HTMLDivElement>(null);
  const root = useRef<HTMLDivElement>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const follow = useFollowBottom(root);
  useComposerFocusAfterAnswer(Boolean(running), composer);

  // A generation started in another tab: fetch the conversation, and the effect below re-attaches to it.
  const onOtherTab = useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: keys.conversation(conversation.id) });
  }, [conversation.id]);
  useGenerationBroadcast(conversation.id, onOtherTab);

  // Re-attach to a generation that runs on the server (after a reload or from another tab).
  useEffect(() => {
    for (const message of conversation.messages) {
      if (message.role === "assistant" && RUNNING.includes(message.status) && !isLive(message.id)) {
        attachGeneration(conversation.id, message.id);
      }
    }
  }, [conversation.id, conversation.messages]);

  const show = useCallback(
    (messageId: string) => {
      const messages = queryClient.getQueryData<ConversationData>(keys.conversation(conversation.id))?.messages ?? [];
      setChosen((current) => chooseMessage(messages, messageId, current));
    },
    [conversation.id],
  );

  // An automatic repair streams in as a new version of the answer: show it (the checked one stays a click away).
  useEffect(
    () =>
      onRepairStarted((repair) => {
        if (repair.conversation_id === conversation.id) show(repair.message_id);
      }),
    [conversation.id, show],
  );

  async function run(action: () => Promise<unknown>) {
    setActionError(null);
    follow.stick();
    try {
      await action();
    } catch (error) {
      setActionError(error);
    }
  }

  function regenerate(message: Message) {
    void run(() =>
      startGeneration(
        { kind: "regenerate", conversationId: conversation.id, messageId: message.id, body: modelId ? { model_id: modelId } : {} },
        (start) => {
          upsertMessage(
            conversation.id,
            placeholderMessage({ id: start.message_id, conversation_id: conversation.id, role: "assistant", parent_id: start.parent_id, model_id: start.model_id }),
          );
          show(start.message_id);
          announceGeneration(conversation.id, start.message_id);
        },
      ),
    );
  }

  /** A new version of a sent prompt (a sibling of it) and a new answer under it; true once it started. */
  async function editPrompt(original: Message, content: string): Promise<boolean> {
    let started = false;
    await run(() =>
      startGeneration(
        { kind: "feedback", conversationId: conversation.id, body: { content, edit_of: original.id, ...(modelId ? { model_id: modelId } : {}) } },
        (start) => {
          started = true;
          const userId = start.parent_id ?? `${start.message_id}-edit`;
          upsertMessage(conversation.id, placeholderMessage({ id: userId, conversation_id: conversation.id, role: "user", kind: original.kind, parent_id: original.parent_id, content }));
          upsertMessage(
            conversation.id,
            placeholderMessage({ id: start.message_id, conversation_id: conversation.id, role: "assistant", parent_id: userId, model_id: start.model_id }),
          );
          show(start.message_id);
          announceGeneration(conversation.id, start.message_id);
        },
      ),
    );
    return started;
  }

  function sendFeedback() {
    const content = feedback.trim();
    const parent = [...path].reverse().find((step) => step.message.role === "assistant")?.message;
    setSending(true);
    void run(async () => {
      try {
        await startGeneration(
          {
            kind: "feedback",
            conversationId: conversation.id,
            body: { content, ...(parent ? { parent_id: parent.id } : {}), ...(modelId ? { model_id: modelId } : {}) },
          },
          (start) => {
            const userId = start.parent_id ?? `${start.message_id}-feedback`;
            upsertMessage(conversation.id, placeholderMessage({ id: userId, conversation_id: conversation.id, role: "user", kind: "feedback", parent_id: parent?.id ?? null, content }));
            upsertMessage(
              conversation.id,
              placeholderMessage({ id: start.message_id, conversation_id: conversation.id, role: "assistant", parent_id: userId, model_id: start.model_id }),
            );
            show(start.message_id);
            announceGeneration(conversation.id, start.message_id);
            setFeedback("");
          },
        );
      } finally {
        setSending(false);
      }
    });
  }

  return (
    <div ref={root} className="flex min-h-full flex-col">
      <ThreadHeader conversation={conversation} models={models} />
      <ol className="mx-auto w-full max-w-3xl flex-1 space-y-6 px-4 pb-6 pt-2 sm:px-6" aria-label="Messages">
        {path.map((step) => (
          <li key={step.message.id}>
            {/* One message that fails to render must not take the thread down with it. */}
            <ErrorBoundary raw={step.message.content} resetKey={step.message}>
              {step.message.role === "user" ? (
                <UserMessage step={step} onSwitch={show} onEdit={editPrompt} busy={Boolean(running)} />
              ) : (
                <AssistantMessage
                  step={step}
                  models={models}
                  isLast={step.message.id === last?.id}
                  onSwitch={show}
                  onRegenerate={regenerate}
                  busy={Boolean(running)}
                />
              )}
            </ErrorBoundary>
          </li>
        ))}
        <div ref={bottom} aria-hidden="true" />
      </ol>
      <div className="sticky bottom-0 border-t border-zinc-200/70 bg-white/90 px-4 pb-4 pt-3 backdrop-blur sm:px-6 dark:border-zinc-800/70 dark:bg-zinc-950/90">
        <JumpToLatest visible={!follow.following} onJump={follow.jump} />
        <div className="mx-auto max-w-3xl">
          {actionError ? <ActionError error={actionError} onDismiss={() => setActionError(null)} /> : null}
          {running ? (
            <div className="mb-2 flex items-center justify-center">
              <Button size="sm" onClick={() => void run(() => stopGeneration(conversation.id, running.id))} aria-label="Stop generating">
                <StopIcon /> Stop generating
              </Button>
            </div>
          ) : null}
          <PromptBox
            ref={composer}
            label="Feedback on the answer"
            value={feedback}
            onChange={setFeedback}
            onSubmit={sendFeedback}
            busy={sending}
            sendBlocked={Boolean(running)}
            minRows={1}
            submitLabel="Send"
            placeholder={running ? "Wait for the answer, or stop it…" : "Ask for a change: “add type hints”, “handle empty input”, “use asyncio”…"}
            toolbar={models.length > 1 ? <CompactModelSelect models={models} value={modelId} onChange={setModelId} /> : null}
          />
        </div>
      </div>
    </div>
  );
}

/** After an answer finishes, the composer gets the focus back (unless the reader is busy in another field). */
function useComposerFocusAfterAnswer(running: boolean, composer: React.RefObject<HTMLTextAreaElement | null>) {
  const wasRunning = useRef(running);
  useEffect(() => {
    const finished = wasRunning.current && !running;
    wasRunning.current = running;
    if (!finished) return;
    const active = document.activeElement;
    const elsewhere = active instanceof HTMLElement && active !== composer.current && (["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName) || active.isContentEditable);
    if (!elsewhere && !document.querySelector("dialog[open]")) composer.current?.focus({ preventScroll: true });
  }, [running, composer]);
}

function ThreadHeader({ conversation, models }: { conversation: ConversationData; models: Model[] }) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(conversation.title);
  const [confirming, setConfirming] = useState(false);
  const rename = useRenameConversation(conversation.id);
  const removeLater = useUndoableDeleteConversation();
  const navigate = useNavigate();
  const model = models.find((item) => item.id === conversation.model_id);

  function save() {
    const next = title.trim();
    if (next && next !== conversation.title) rename.mutate(next, { onSuccess: () => setEditing(false) });
    else setEditing(false);
  }

  return (
    <div className="mx-auto flex w-full max-w-3xl items-start gap-2 px-4 pb-2 pt-6 sm:px-6">
      <div className="min-w-0 flex-1">
        {editing ? (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              save();
            }}
            className="flex gap-2"
          >
            <label htmlFor="title-input" className="sr-only">
              Title
            </label>
            <input id="title-input" autoFocus value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} onKeyDown={(e) => e.key === "Escape" && setEditing(false)} className={inputClass} />
            <Button type="submit" size="md" variant="primary" busy={rename.isPending}>
              Save
            </Button>
          </form>
        ) : (
          <h1 className="truncate text-xl font-semibold tracking-tight">{conversation.title || "Untitled"}</h1>
        )}
        <p className="mt-1 text-xs text-zinc-500">
          {model ? model.name : "Model removed"}
          {conversation.language ? ` · ${languageLabel(conversation.language)}` : ""} · started {timeAgo(conversation.created_at)}
        </p>
      </div>
      <DownloadSnippets conversationId={conversation.id} label="Download all snippets" disabled={!conversation.messages.some((m) => m.snippets.length)} />
      <ExportMenu conversationId={conversation.id} />
      {!editing ? (
        <Button size="sm" variant="ghost" onClick={() => { setTitle(conversation.title); setEditing(true); }} aria-label="Rename conversation">
          <EditIcon />
        </Button>
      ) : null}
      <Button size="sm" variant="ghost" onClick={() => setConfirming(true)} aria-label="Delete conversation">
        <TrashIcon />
      </Button>
      <ConfirmDialog
        open={confirming}
        title="Delete this conversation?"
        confirmLabel="Delete"
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          // The DELETE waits for the Undo toast to expire.
          setConfirming(false);
          removeLater(conversation);
          void navigate("/", { replace: true });
        }}
        message={
          <p>
            <strong>This deletes {plural(conversation.messages.length, "message")}</strong> and their snippets. You can undo it
            for a few seconds.
          </p>
        }
      />
    </div>
  );
}

function VersionSwitcher({ step, onSwitch, noun }: { step: PathStep; onSwitch: (id: string) => void; noun: string }) {
  if (step.siblings.length < 2) return null;
  const previous = step.siblings[step.index - 1];
  const next = step.siblings[step.index + 1];
  return (
    <div className="inline-flex items-center text-xs text-zinc-500" role="group" aria-label={`${noun} versions`}>
      <button type="button" disabled={!previous} onClick={() => previous && onSwitch(previous.id)} className="rounded p-1 hover:bg-zinc-100 disabled:opacity-40 dark:hover:bg-zinc-800" aria-label={`Previous ${noun}`}>
        <ChevronLeftIcon />
      </button>
      <span aria-live="polite" className="tabular-nums">
        {step.index + 1}/{step.siblings.length}
      </span>
      <button type="button" disabled={!next} onClick={() => next && onSwitch(next.id)} className="rounded p-1 hover:bg-zinc-100 disabled:opacity-40 dark:hover:bg-zinc-800" aria-label={`Next ${noun}`}>
        <ChevronRightIcon />
      </button>
    </div>
  );
}

interface UserMessageProps {
  step: PathStep;
  onSwitch: (id: string) => void;
  /** Send a new version of this prompt; resolves true once its answer has started. */
  onEdit: (message: Message, content: string) => Promise<boolean>;
  busy: boolean;
}

function UserMessage({ step, onSwitch, onEdit, busy }: UserMessageProps) {
  const { message } = step;
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const [saving, setSaving] = useState(false);
  const [copied, setCopied] = useState(false);
  const noun = message.kind === "feedback" ? "feedback" : "request";

  async function save() {
    const content = draft.trim();
    if (!content || content === message.content.trim()) {
      setEditing(false);
      return;
    }
    setSaving(true);
    try {
      if (await onEdit(message, content)) setEditing(false);
    } finally {
      setSaving(false);
    }
  }

  return (
    <article aria-label={noun === "feedback" ? "Your feedback" : "Your request"} className="group flex flex-col items-end gap-1">
      {editing ? (
        // Not a second PromptBox: that one's element ids are the composer's, and must stay unique.
        <form
          className="w-full max-w-[85%] rounded-2xl border border-zinc-300 bg-white shadow-sm focus-within:border-indigo-500 focus-within:ring-2 focus-within:ring-indigo-500/25 dark:border-zinc-700 dark:bg-zinc-900"
          onSubmit={(event) => {
            event.preventDefault();
            void save();
          }}
        >
          <textarea
            aria-label={`Edit your ${noun}`}
            value={draft}
            rows={Math.min(Math.max(draft.split("\n").length, 2), 12)}
            maxLength={8000}
            autoFocus
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === "Escape") setEditing(false);
              if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
                event.preventDefault();
                if (!busy) void save();
              }
            }}
            className="block w-full resize-y rounded-t-2xl bg-transparent px-4 pt-3 text-[15px] leading-relaxed focus:outline-none"
          />
          <div className="flex items-center justify-end gap-2 px-3 pb-3 pt-1">
            <span className="mr-auto hidden text-xs text-zinc-500 sm:inline">{SEND_SHORTCUT} to send · Esc to cancel</span>
            <Button size="sm" variant="ghost" onClick={() => setEditing(false)}>
              Cancel
            </Button>
            <Button type="submit" size="sm" variant="primary" busy={saving} disabled={busy || !draft.trim()}>
              Send edit
            </Button>
          </div>
        </form>
      ) : (
        <div className="max-w-[85%] whitespace-pre-wrap break-words rounded-2xl rounded-br-md bg-indigo-600 px-4 py-2.5 text-[15px] leading-relaxed text-white shadow-sm">
          {message.content}
        </div>
      )}
      <div className="flex min-h-8 flex-wrap items-center justify-end gap-1 text-xs text-zinc-500">
        <VersionSwitcher step={step} onSwitch={onSwitch} noun="prompt" />
        {editing ? null : (
          <>
            <Button
              size="sm"
              variant="ghost"
              onClick={() => copyText(message.content).then(() => { setCopied(true); setTimeout(() => setCopied(false), 1500); })}
              aria-label={`Copy ${noun}`}
            >
              {copied ? <CheckIcon /> : <CopyIcon />} {copied ? "Copied" : "Copy"}
            </Button>
            <Button
              size="sm"
              variant="ghost"
              disabled={busy}
              onClick={() => {
                setDraft(message.content);
                setEditing(true);
              }}
              aria-label={`Edit ${noun}`}
            >
              <EditIcon /> Edit
            </Button>
          </>
        )}
      </div>
    </article>
  );
}

interface AssistantMessageProps {
  step: PathStep;
  models: Model[];
  isLast: boolean;
  busy: boolean;
  onSwitch: (id: string) => void;
  onRegenerate: (message: Message) => void;
}

function AssistantMessage({ step, models, isLast, busy, onSwitch, onRegenerate }: AssistantMessageProps) {
  const { message } = step;
  const live = useLiveGeneration(message.id);
  const streaming = Boolean(live) || RUNNING.includes(message.status);
  const text = live?.text ?? message.content;
  const model = models.find((item) => item.id === message.model_id);
  const [copied, setCopied] = useState(false);
  const waiting = streaming && text.length === 0;
  const repaired = message.repair_of ? step.siblings.find((sibling) => sibling.id === message.repair_of) : undefined;
  // One Regenerate per answer: the error's own button when it offers one, else the one in the actions row.
  const outcomeRetries = !streaming && outcomeOffersRetry(message, model);

  return (
    <article aria-label="Answer" aria-busy={streaming} className="group">
      {message.repair_of ? <RepairNote message={message} repaired={repaired} streaming={streaming} /> : null}
      {streaming || text ? (
        <div className="min-h-12 text-[15px]">
          {waiting ? (
            <p className="flex items-center gap-2 text-sm text-zinc-500" role="status">
              <Spinner /> {live?.phase === "connecting" ? "Reconnecting to the answer…" : "Writing…"}
            </p>
          ) : (
            // Inside the message, so its version switcher and Regenerate still work when the body cannot render.
            <ErrorBoundary raw={text} resetKey={text}>
              <Markdown snippets={message.snippets} runnable={!streaming}>{text}</Markdown>
            </ErrorBoundary>
          )}
          {streaming && !waiting ? <span className="streaming-caret" aria-hidden="true" /> : null}
        </div>
      ) : null}
      {!streaming ? <MessageOutcome message={message} model={model} onRegenerate={() => onRegenerate(message)} /> : null}
      <div className="mt-2 flex min-h-8 flex-wrap items-center gap-1 text-xs text-zinc-500">
        <VersionSwitcher step={step} onSwitch={onSwitch} noun="answer" />
        {!streaming && step.siblings.length > 1 ? <CompareVersions step={step} /> : null}
        {/* Stop lives once, above the composer, where it stays in reach while the answer scrolls. */}
        {streaming ? null : (
          <>
            <Button
              size="sm"
              variant="ghost"
              disabled={!message.content}
              onClick={() => copyText(message.content).then(() => { setCopied(true); setTimeout(() => setCopied(false), 1500); })}
              aria-label="Copy answer"
            >
              {copied ? <CheckIcon /> : <CopyIcon />} {copied ? "Copied" : "Copy"}
            </Button>
            {message.snippets.length ? (
              <DownloadSnippets conversationId={message.conversation_id} messageId={message.id} label="Download this version's snippets" />
            ) : null}
            {(isLast || step.siblings.length > 1) && !outcomeRetries ? (
              <Button size="sm" variant="ghost" disabled={busy} onClick={() => onRegenerate(message)}>
                <RefreshIcon /> Regenerate
              </Button>
            ) : null}
          </>
        )}
        <span className="ml-auto flex flex-wrap gap-x-3">
          {model ? <span>{model.name}</span> : null}
          {message.usage ? (
            <span title={`${formatNumber(message.usage.prompt_tokens)} prompt + ${formatNumber(message.usage.completion_tokens)} completion tokens`}>
              {formatNumber(message.usage.prompt_tokens + message.usage.completion_tokens)} tokens
              {message.usage.cost_usd !== null ? ` · ${formatUsd(message.usage.cost_usd)}` : ""}
            </span>
          ) : null}
        </span>
      </div>
    </article>
  );
}

/** How many problems the checks found in a version's code (failed snippets only). */
export function problemCount(message: Message): number {
  return message.snippets.reduce((sum, snippet) => sum + (snippet.check.status === "failed" ? Math.max(snippet.check.diagnostics.length, 1) : 0), 0);
}

/** An automatic repair says what it fixed (honestly: also when its own code still fails), with the changes. */
function RepairNote({ message, repaired, streaming }: { message: Message; repaired: Message | undefined; streaming: boolean }) {
  const [open, setOpen] = useState(false);
  const before = repaired ? problemCount(repaired) : 0;
  const after = problemCount(message);
  const problems = plural(before, "problem");
  let summary: string;
  if (streaming) summary = `Repairing ${repaired ? problems : "the code"} the check found…`;
  else if (message.status !== "complete") summary = `The automatic repair of ${problems} did not finish.`;
  else if (after > 0) summary = `Tried to fix ${problems}; the repaired code still fails its check (${plural(after, "problem")}).`;
  else summary = `Fixed ${problems}`;
  const tone = streaming || (message.status === "complete" && after === 0) ? "bg-emerald-50 text-emerald-900 dark:bg-emerald-500/10 dark:text-emerald-200" : "bg-amber-50 text-amber-900 dark:bg-amber-500/10 dark:text-amber-200";
  return (
    <div className="mb-2">
      <p className={`flex flex-wrap items-center gap-2 rounded-lg px-3 py-1.5 text-sm ${tone}`} aria-label="Automatic repair">
        <span>{summary}</span>
        {!streaming && repaired ? (
          <button type="button" onClick={() => setOpen((was) => !was)} aria-expanded={open} className="ml-auto text-xs font-medium underline">
            {open ? "Hide changes" : "Show changes"}
          </button>
        ) : null}
      </p>
      {open && repaired ? (
        <Suspense fallback={<Spinner />}>
          <VersionDiff before={repaired.content} after={message.content} label="Changes from the version it repairs" />
        </Suspense>
      ) : null}
    </div>
  );
}

/** Diff this version against any other version of the same answer. */
function CompareVersions({ step }: { step: PathStep }) {
  const [other, setOther] = useState<string>("");
  const others = step.siblings.map((sibling, index) => ({ sibling, index })).filter(({ sibling }) => sibling.id !== step.message.id);
  const chosen = step.siblings.find((sibling) => sibling.id === other);
  return (
    <>
      <label className="inline-flex items-center gap-1">
        <span>Compare</span>
        <select
          aria-label="Compare with version"
          value={other}
          onChange={(event) => setOther(event.target.value)}
          className="h-7 rounded-md border border-zinc-200 bg-transparent px-1 text-xs dark:border-zinc-700"
        >
          <option value="">…</option>
          {others.map(({ sibling, index }) => (
            <option key={sibling.id} value={sibling.id}>
              with {index + 1}/{step.siblings.length}
            </option>
          ))}
        </select>
      </label>
      {chosen ? (
        <div className="basis-full">
          <Suspense fallback={<Spinner />}>
            <VersionDiff
              before={chosen.content}
              after={step.message.content}
              label={`Version ${step.siblings.indexOf(chosen) + 1} → version ${step.index + 1}`}
            />
          </Suspense>
        </div>
      ) : null}
    </>
  );
}

/** The snippets as a zip (the conversation's, or one version's), saved under the server's name. */
function DownloadSnippets({ conversationId, messageId, label, disabled = false }: { conversationId: string; messageId?: string; label: string; disabled?: boolean }) {
  const [busy, setBusy] = useState(false);
  const toast = useToast();
  async function download() {
    setBusy(true);
    try {
      await saveApiFile(snippetsZipPath(conversationId, messageId), messageId ? "snippets-version.zip" : "snippets.zip");
    } catch (error) {
      toast({ message: `Download failed: ${errorMessage(error)}` });
    } finally {
      setBusy(false);
    }
  }
  return (
    <Button size="sm" variant="ghost" busy={busy} disabled={disabled} onClick={() => void download()} aria-label={label} title={label}>
      <DownloadIcon /> {messageId ? "Snippets" : null}
    </Button>
  );
}

function outcomeOffersRetry(message: Message, model: Model | undefined): boolean {
  const code = message.error?.code ?? (message.status === "interrupted" ? "interrupted" : null);
  if (message.status === "cancelled" || !code || message.status === "complete") return false;
  return adviceFor(code, message.error?.detail, null, model).retry;
}

function MessageOutcome({ message, model, onRegenerate }: { message: Message; model: Model | undefined; onRegenerate: () => void }) {
  if (message.status === "cancelled") {
    return (
      <p className="mt-3 rounded-lg bg-zinc-100 px-3 py-2 text-sm text-zinc-700 dark:bg-zinc-900 dark:text-zinc-300">
        Stopped. {message.content ? "The partial answer is kept above." : ""} Regenerate to get a complete one.
      </p>
    );
  }
  const code = message.error?.code ?? (message.status === "interrupted" ? "interrupted" : null);
  if (!code || message.status === "complete") return null;
  const advice = adviceFor(code, message.error?.detail, null, model);
  return <AdviceAlert advice={advice} detail={message.error?.detail} onRetry={advice.retry ? onRegenerate : undefined} />;
}

function AdviceAlert({ advice, detail, onRetry }: { advice: ErrorAdvice; detail?: string | null | undefined; onRetry?: (() => void) | undefined }) {
  return (
    <div className="mt-3">
      <Alert
        tone={advice.tone}
        title={advice.title}
        action={
          onRetry || advice.link ? (
            <>
              {onRetry ? (
                <Button size="sm" onClick={onRetry}>
                  <RefreshIcon /> Regenerate
                </Button>
              ) : null}
              {advice.link ? (
                <Link to={advice.link.to} className="inline-flex h-8 items-center rounded-lg px-2.5 text-sm font-medium underline">
                  {advice.link.label}
                </Link>
              ) : null}
            </>
          ) : undefined
        }
      >
        <p>{advice.advice}</p>
        {detail && detail !== advice.advice ? <p className="mt-1 text-xs opacity-80">Details: {detail}</p> : null}
      </Alert>
    </div>
  );
}

function ActionError({ error, onDismiss }: { error: unknown; onDismiss: () => void }) {
  const advice = error instanceof ApiError ? adviceFor(error.code, error.problem.detail, error.retryAfter) : null;
  return (
    <div className="mb-3">
      <Alert
        tone={advice?.tone ?? "red"}
        title={advice?.title ?? "That did not work"}
        action={
          <>
            {advice?.link ? (
              <Link to={advice.link.to} className="font-medium underline">
                {advice.link.label}
              </Link>
            ) : null}
            <button type="button" onClick={onDismiss} className="font-medium underline">
              Dismiss
            </button>
          </>
        }
      >
        {advice?.advice ?? errorMessage(error)}
      </Alert>
    </div>
  );
}

function CompactModelSelect({ models, value, onChange }: { models: Model[]; value: string | null; onChange: (id: string) => void }) {
  return (
    <>
      <label htmlFor="feedback-model" className="sr-only">
        Model for the next answer
      </label>
      <select
        id="feedback-model"
        value={value ?? ""}
        onChange={(event) => onChange(event.target.value)}
        className="h-8 max-w-[12rem] truncate rounded-lg border border-zinc-200 bg-transparent px-2 text-xs text-zinc-700 dark:border-zinc-700 dark:text-zinc-300"
      >
        {models.map((model) => (
          <option key={model.id} value={model.id}>
            {model.name}
          </option>
        ))}
      </select>
    </>
  );
}
