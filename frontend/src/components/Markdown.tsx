/**
 * Model output as Markdown, rendered safely: it is untrusted. No raw HTML (no rehype-raw, so tags are
 * shown as text), only http(s)/mailto/relative links, and images become plain links (no tracking pixels).
 */
import { memo, type ReactNode, isValidElement, useMemo } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
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

/** A fenced block as a CodeBlock; `filenames` (code -> the API's file name) names its download. */
function renderPre(children: ReactNode, filenames?: ReadonlyMap<string, string>) {
  const child = Array.isArray(children) ? children[0] : children;
  const className = isValidElement<{ className?: string }>(child) ? (child.props.className ?? "") : "";
  const language = /language-([\w+#.-]+)/.exec(className)?.[1] ?? null;
  const code = textOf(child).replace(/\n$/, "");
  return <CodeBlock code={code} language={language} title={filenames?.get(code.trim()) ?? null} />;
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
  filenames,
}: {
  children: string;
  /** The stored snippets' file names by their code: downloads are named as the API names them. */
  filenames?: ReadonlyMap<string, string>;
}) {
  const withNames = useMemo<Components>(
    () => (filenames?.size ? { ...components, pre: ({ children: block }) => renderPre(block, filenames) } : components),
    [filenames],
  );
  return (
    <div className="prose-codesmith">
      <ReactMarkdown remarkPlugins={[remarkGfm]} urlTransform={safeUrl} components={withNames} skipHtml={false}>
        {children}
      </ReactMarkdown>
    </div>
  );
});
