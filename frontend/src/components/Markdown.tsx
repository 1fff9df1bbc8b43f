/**
 * Model output as Markdown, rendered safely: it is untrusted. No raw HTML (no rehype-raw, so tags are
 * shown as text), only http(s)/mailto/relative links, and images become plain links (no tracking pixels).
 */
import { memo, type ReactNode, isValidElement, useMemo } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import type { Snippet } from "../api/types";
import { CodeBlock } from "./CodeBlock";

const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/** Keeps relative URLs, fragments and http(s)/mailto; anything else (javascript:, data:, vbscript:) → "". */
export function safeUrl(url: string): string {
  const trimmed = url.trim();
  // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:"), so strip them first.
  const squashed = trimmed.replace(/[\u0000-\u0020\u007f-\u009f]/g, "");
  const colon = squashed.indexOf(":");
  const firstDelimiter = squashed.search(/[/?#]/);
  const hasScheme = colon !== -1 && (firstDelimiter === -1 || colon < firstDelimiter);
  if (!hasScheme) return trimmed;
  try {
    return SAFE_PROTOCOLS.has(new URL(squashed).protocol) ? trimmed : "";
  } catch {
    return "";
  }
}

function textOf(node: ReactNode): string {
  if (typeof node === "string" || typeof node === "number") return String(node);
  if (Array.isArray(node)) return node.map(textOf).join("");
  if (isValidElement<{ children?: ReactNode }>(node)) return textOf(node.props.children);
  return "";
}

/** The stored snippets by their trimmed code: how a rendered block finds its file name and its check. */
export function snippetsByCode(snippets: readonly Snippet[]): ReadonlyMap<string, Snippet> {
  const byCode = new Map<string, Snippet>();
  // The first of two identical blocks wins, as it does in answer order.
  for (const snippet of snippets) if (!byCode.has(snippet.code.trim())) byCode.set(snippet.code.trim(), snippet);
  return byCode;
}

/** A fenced block as a CodeBlock; its stored snippet (same code) names its download and carries its check. */
function renderPre(children: ReactNode, snippets?: ReadonlyMap<string, Snippet>, runnable = false) {
  const child = Array.isArray(children) ? children[0] : children;
  const className = isValidElement<{ className?: string }>(child) ? (child.props.className ?? "") : "";
  const language = /language-([\w+#.-]+)/.exec(className)?.[1] ?? null;
  const code = textOf(child).replace(/\n$/, "");
  const snippet = snippets?.get(code.trim());
  return <CodeBlock code={code} language={language} title={snippet?.filename ?? null} check={snippet?.check} runnable={runnable} />;
}

const components: Components = {
  pre({ children }) {
    return renderPre(children);
  },
  code({ children, className }) {
    return (
      <code className={`${className ?? ""} rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-[0.9em] dark:bg-zinc-800`}>
        {children}
      </code>
    );
  },
  a({ href, children }) {
    if (!href) return <span>{children}</span>;
    return (
      <a href={href} target="_blank" rel="noopener noreferrer nofollow" className="text-indigo-600 underline dark:text-indigo-400">
        {children}
      </a>
    );
  },
  img({ src, alt }) {
    const url = typeof src === "string" ? src : "";
    if (!url) return <span>{alt}</span>;
    return (
      <a href={url} target="_blank" rel="noopener noreferrer nofollow" className="text-indigo-600 underline dark:text-indigo-400">
        {alt || "image"}
      </a>
    );
  },
  table({ children }) {
    return (
      <div className="my-4 overflow-x-auto">
        <table className="min-w-full text-sm">{children}</table>
      </div>
    );
  },
};

export const Markdown = memo(function Markdown({
  children,
  snippets,
  runnable = false,
}: {
  children: string;
  /** The message's stored snippets: downloads are named as the API names them, and each block shows its check. */
  snippets?: readonly Snippet[];
  /** Code blocks offer Run / Preview (a complete answer). */
  runnable?: boolean;
}) {
  const withNames = useMemo<Components>(() => {
    if (!snippets?.length && !runnable) return components;
    const byCode = snippetsByCode(snippets ?? []);
    return { ...components, pre: ({ children: block }) => renderPre(block, byCode, runnable) };
  }, [snippets, runnable]);
  return (
    <div className="prose-codesmith">
      <ReactMarkdown remarkPlugins={[remarkGfm]} urlTransform={safeUrl} components={withNames} skipHtml={false}>
        {children}
      </ReactMarkdown>
    </div>
  );
});
