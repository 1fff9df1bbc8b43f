/** Home: the user's conversations and snippets, newest first, searchable as they type. */
import { type InfiniteData, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, unwrap } from "../api/client";
import { errorMessage } from "../api/errors";
import { fetchConversation, useConversations, useSnippets } from "../api/queries";
import type { ConversationSummary, Page, Snippet } from "../api/types";
import { CodeBlock } from "../components/CodeBlock";
import { ConfirmDialog } from "../components/Dialog";
import { ErrorBoundary } from "../components/ErrorBoundary";
import { CodeIcon, PlusIcon, SearchIcon, TrashIcon } from "../components/icons";
import { Alert, Badge, Button, EmptyState, Skeleton, inputClass } from "../components/ui";
import { useDebounced } from "../hooks/useDebounced";
import { useInfiniteScroll } from "../hooks/useInfiniteScroll";
import { useUndoableDeleteConversation } from "../hooks/useUndoableDelete";
import { plural, timeAgo } from "../lib/format";
import { LANGUAGES, languageLabel } from "../lib/languages";

type Tab = "conversations" | "snippets";

export default function Home() {
  const [params, setParams] = useSearchParams();
  const tab: Tab = params.get("tab") === "snippets" ? "snippets" : "conversations";
  const [query, setQuery] = useState(params.get("q") ?? "");
  const language = params.get("language") ?? "";
  const debounced = useDebounced(query.trim(), 250);

  function update(next: Record<string, string>) {
    const merged = new URLSearchParams(params);
    for (const [key, value] of Object.entries(next)) {
      if (value) merged.set(key, value);
      else merged.delete(key);
    }
    setParams(merged, { replace: true });
  }

  return (
    <div className="mx-auto w-full max-w-5xl px-4 py-6 sm:px-6 sm:py-8">
      <div className="mb-6 flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">Your work</h1>
        <Link
          to="/new"
          className="inline-flex h-10 items-center gap-2 rounded-lg bg-indigo-600 px-4 text-sm font-medium text-white shadow-sm hover:bg-indigo-500"
        >
          <PlusIcon /> New generation
        </Link>
      </div>

      <div className="flex flex-col gap-3 sm:flex-row sm:items-center">
        <div role="tablist" aria-label="Show" className="inline-flex rounded-lg bg-zinc-100 p-1 dark:bg-zinc-900">
          {(["conversations", "snippets"] as const).map((value) => (
            <button
              key={value}
              role="tab"
              type="button"
              aria-selected={tab === value}
              aria-controls={`panel-${value}`}
              id={`tab-${value}`}
              onClick={() => update({ tab: value === "snippets" ? value : "" })}
              className={`rounded-md px-3 py-1.5 text-sm font-medium capitalize ${
                tab === value
                  ? "bg-white text-zinc-900 shadow-sm dark:bg-zinc-800 dark:text-white"
                  : "text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-white"
              }`}
            >
              {value}
            </button>
          ))}
        </div>
        <div className="relative flex-1">
          <SearchIcon className="pointer-events-none absolute left-3 top-1/2 -translate-y-1/2 text-zinc-400" />
          <label htmlFor="home-search" className="sr-only">
            Search {tab}
          </label>
          <input
            id="home-search"
            type="search"
            value={query}
            onChange={(event) => {
              setQuery(event.target.value);
              update({ q: event.target.value.trim() });
            }}
            placeholder={tab === "snippets" ? "Search code and titles…" : "Search titles, requests and code…"}
            className={`${inputClass} pl-9`}
          />
        </div>
        {tab === "snippets" ? (
          <div>
            <label htmlFor="language-filter" className="sr-only">
              Language
            </label>
            <select
              id="language-filter"
              value={language}
              onChange={(event) => update({ language: event.target.value })}
              className={`${inputClass} sm:w-44`}
            >
              <option value="">All languages</option>
              {LANGUAGES.map((info) => (
                <option key={info.id} value={info.id}>
                  {info.label}
                </option>
              ))}
            </select>
          </div>
        ) : null}
      </div>

      <div className="mt-6" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === "conversations" ? <ConversationList q={debounced} /> : <SnippetList q={debounced} language={language} />}
      </div>
    </div>
  );
}

function ListSkeleton() {
  return (
    <ul className="space-y-3" aria-hidden="true">
      {[0, 1, 2, 3, 4].map((i) => (
        <li key={i} className="rounded-xl border border-zinc-200 p-4 dark:border-zinc-800">
          <Skeleton className="h-4 w-1/2" />
          <Skeleton className="mt-3 h-12 w-full" />
        </li>
      ))}
    </ul>
  );
}

function ConversationList({ q }: { q: string }) {
  const conversations = useConversations(q);
  const [deleting, setDeleting] = useState<{ conversation: ConversationSummary; messages: number | null } | null>(null);
  const deleteWithUndo = useUndoableDeleteConversation();
  const sentinel = useInfiniteScroll<HTMLDivElement>(
    () => conversations.hasNextPage && !conversations.isFetchingNextPage && void conversations.fetchNextPage(),
    Boolean(conversations.hasNextPage),
  );

  async function askDelete(conversation: ConversationSummary) {
    setDeleting({ conversation, messages: null });
    try {
      const detail = await fetchConversation(conversation.id);
      setDeleting((current) =>
        current?.conversation.id === conversation.id ? { conversation, messages: detail.messages.length } : current,
      );
    } catch {
      // the dialog still works without the count
    }
  }

  if (conversations.isPending) return <ListSkeleton />;
  if (conversations.isError) return <Alert title="Could not load your conversations">{errorMessage(conversations.error)}</Alert>;
  const items = conversations.data.pages.flatMap((page) => page.items);

  if (items.length === 0) {
    return q ? (
      <EmptyState icon={<SearchIcon />} title={`Nothing matches “${q}”`}>
        Search looks at titles, your requests and the generated code.
      </EmptyState>
    ) : (
      <EmptyState
        icon={<CodeIcon />}
        title="No conversations yet"
        action={
          <Link to="/new" className="inline-flex h-10 items-center gap-2 rounded-lg bg-indigo-600 px-4 text-sm font-medium text-white hover:bg-indigo-500">
            <PlusIcon /> Start your first generation
          </Link>
        }
      >
        Describe what the code should do, in plain language. Codesmith writes it, and you can refine it with feedback.
      </EmptyState>
    );
  }

  const count = deleting?.messages;
  return (
    <>
      <ul className={`space-y-3 transition-opacity ${conversations.isPlaceholderData ? "opacity-60" : ""}`} aria-busy={conversations.isFetching}>
        {items.map((conversation) => (
          <li key={conversation.id} className="group relative rounded-xl border border-zinc-200 bg-white p-4 hover:border-zinc-300 hover:shadow-sm dark:border-zinc-800 dark:bg-zinc-900/50 dark:hover:border-zinc-700">
            <div className="flex items-start justify-between gap-3">
              <div className="min-w-0 flex-1">
                <Link to={`/c/${conversation.id}`} className="block truncate font-medium after:absolute after:inset-0 after:content-[''] focus-visible:outline-none focus-visible:after:rounded-xl focus-visible:after:outline-2 focus-visible:after:outline-indigo-500">
                  {conversation.title || "Untitled"}
                </Link>
                <p className="mt-0.5 text-xs text-zinc-500">
                  {timeAgo(conversation.updated_at)}
                  {conversation.language ? ` · ${languageLabel(conversation.language)}` : ""}
                </p>
              </div>
              <button
                type="button"
                onClick={() => void askDelete(conversation)}
                className="relative z-10 rounded-lg p-2 text-zinc-500 opacity-100 hover:bg-red-50 hover:text-red-600 focus:opacity-100 sm:opacity-0 sm:group-hover:opacity-100 dark:hover:bg-red-950/50"
                aria-label={`Delete “${conversation.title || "Untitled"}”`}
              >
                <TrashIcon />
              </button>
            </div>
            {conversation.preview ? (
              // The padding is on a wrapper: inside the clamped box it would show the top of a fourth line.
              <div className="mt-3 rounded-lg bg-zinc-50 px-3 py-2 dark:bg-zinc-950">
                <pre className="line-clamp-3 overflow-hidden whitespace-pre-wrap font-mono text-xs text-zinc-700 dark:text-zinc-300">
                  {conversation.preview}
                </pre>
              </div>
            ) : null}
          </li>
        ))}
      </ul>
      <LoadMore
        sentinel={sentinel}
        hasMore={Boolean(conversations.hasNextPage)}
        loading={conversations.isFetchingNextPage}
        onClick={() => void conversations.fetchNextPage()}
      />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this conversation?"
        confirmLabel="Delete"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (!deleting) return;
          deleteWithUndo(deleting.conversation);
          setDeleting(null);
        }}
        message={
          <>
            <p>
              “{deleting?.conversation.title || "Untitled"}” will be removed (you can undo it for a few seconds):{" "}
              <strong>this deletes {count === null || count === undefined ? "all its" : plural(count, "message")}</strong>
              {" "}and the snippets made from them.
            </p>
          </>
        }
      />
    </>
  );
}

function LoadMore({ sentinel, hasMore, loading, onClick }: { sentinel: React.RefObject<HTMLDivElement | null>; hasMore: boolean; loading: boolean; onClick: () => void }) {
  return (
    <div ref={sentinel} className="flex justify-center py-6">
      {hasMore ? (
        <Button onClick={onClick} busy={loading} size="sm">
          {loading ? "Loading…" : "Load more"}
        </Button>
      ) : null}
    </div>
  );
}

function useDeleteSnippet() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/snippets/{snippet_id}", { params: { path: { snippet_id: id } } })),
    onSuccess: (_data, id) => {
      // Gone from every cached page at once; the refetch then fills the pages up again.
      client.setQueriesData<InfiniteData<Page<Snippet>>>({ queryKey: ["snippets"] }, (old) =>
        old ? { ...old, pages: old.pages.map((page) => ({ ...page, items: page.items.filter((item) => item.id !== id) })) } : old,
      );
      void client.invalidateQueries({ queryKey: ["snippets"] });
      void client.invalidateQueries({ queryKey: ["conversations"] }); // a preview may have shown it
    },
  });
}

function SnippetList({ q, language }: { q: string; language: string }) {
  const snippets = useSnippets(q, language);
  const [deleting, setDeleting] = useState<Snippet | null>(null);
  const remove = useDeleteSnippet();
  const sentinel = useInfiniteScroll<HTMLDivElement>(
    () => snippets.hasNextPage && !snippets.isFetchingNextPage && void snippets.fetchNextPage(),
    Boolean(snippets.hasNextPage),
  );
  if (snippets.isPending) return <ListSkeleton />;
  if (snippets.isError) return <Alert title="Could not load your snippets">{errorMessage(snippets.error)}</Alert>;
  const items = snippets.data.pages.flatMap((page) => page.items);
  if (items.length === 0) {
    return (
      <EmptyState icon={<CodeIcon />} title={q || language ? "No snippets match" : "No snippets yet"}>
        {q || language
          ? "Try another word or language."
          : "Every code block of a finished answer is kept here, ready to copy or download."}
      </EmptyState>
    );
  }
  return (
    <>
      <ul className={`grid gap-4 lg:grid-cols-2 ${snippets.isPlaceholderData ? "opacity-60" : ""}`}>
        {items.map((snippet) => (
          <li key={snippet.id} className="min-w-0 rounded-xl border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900/50">
            {/* A snippet is stored model output: one that fails to render must not take the list down. */}
            <ErrorBoundary raw={snippet.code} noun="snippet" resetKey={snippet}>
              <SnippetCard
                snippet={snippet}
                onDelete={() => {
                  remove.reset();
                  setDeleting(snippet);
                }}
              />
            </ErrorBoundary>
          </li>
        ))}
      </ul>
      <LoadMore sentinel={sentinel} hasMore={Boolean(snippets.hasNextPage)} loading={snippets.isFetchingNextPage} onClick={() => void snippets.fetchNextPage()} />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this snippet?"
        confirmLabel="Delete"
        busy={remove.isPending}
        onCancel={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate(deleting.id, { onSuccess: () => setDeleting(null) })}
        message={
          <>
            <p>
              “{deleting ? snippetName(deleting) : ""}” will be removed from your snippets and from search. The answer it came
              from keeps its code.
            </p>
            {remove.isError ? <p className="mt-2 text-red-600 dark:text-red-400">{errorMessage(remove.error)}</p> : null}
          </>
        }
      />
    </>
  );
}

function snippetName(snippet: Snippet): string {
  return snippet.title || snippet.filename || "Untitled snippet";
}

function SnippetCard({ snippet, onDelete }: { snippet: Snippet; onDelete: () => void }) {
  return (
    <>
      <div className="flex items-start justify-between gap-2">
        <div className="min-w-0">
          <Link to={`/c/${snippet.conversation_id}`} className="block truncate font-medium hover:underline">
            {snippet.title || "Untitled snippet"}
          </Link>
          <p className="mt-0.5 text-xs text-zinc-500">{timeAgo(snippet.created_at)}</p>
        </div>
        <div className="flex shrink-0 items-center gap-1">
          <Badge tone="indigo">{languageLabel(snippet.language)}</Badge>
          <button
            type="button"
            onClick={onDelete}
            className="rounded-lg p-1.5 text-zinc-500 hover:bg-red-50 hover:text-red-600 dark:hover:bg-red-950/50"
            aria-label={`Delete snippet “${snippetName(snippet)}”`}
          >
            <TrashIcon />
          </button>
        </div>
      </div>
      {/* The API's file name (the raw download's), so the SPA and the API name the file alike. */}
      <CodeBlock code={snippet.code} language={snippet.language} title={snippet.filename || snippet.title} compact />
    </>
  );
}
