/**
 * Keeps a render error inside one message or snippet card: model output is untrusted, and one answer that
 * trips a bug must not blank the whole page. The fallback offers the raw text, as text.
 */
import { Component, type ErrorInfo, type ReactNode } from "react";
import { Alert } from "./ui";

export interface ErrorBoundaryProps {
  children: ReactNode;
  /** What failed to render, shown as plain text in the fallback (React escapes it). */
  raw?: string | null | undefined;
  /** Names the thing in the notice: "This message could not be displayed". */
  noun?: string;
  /** A new value clears the error and renders the children again (a streaming answer that grew). */
  resetKey?: unknown;
}

interface ErrorBoundaryState {
  error: unknown;
  failed: boolean;
}

export class ErrorBoundary extends Component<ErrorBoundaryProps, ErrorBoundaryState> {
  override state: ErrorBoundaryState = { error: null, failed: false };

  static getDerivedStateFromError(error: unknown): ErrorBoundaryState {
    return { error, failed: true };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.error(`This ${this.props.noun ?? "message"} could not be displayed:`, error, info.componentStack);
  }

  override componentDidUpdate(previous: ErrorBoundaryProps): void {
    if (this.state.failed && !Object.is(previous.resetKey, this.props.resetKey)) this.setState({ error: null, failed: false });
  }

  override render(): ReactNode {
    if (!this.state.failed) return this.props.children;
    const { raw, noun = "message" } = this.props;
    return (
      <Alert tone="amber" title={`This ${noun} could not be displayed`}>
        {raw ? (
          <details className="mt-1">
            <summary className="cursor-pointer select-none underline">Show the raw text</summary>
            <pre className="mt-2 max-h-96 overflow-auto whitespace-pre-wrap break-words rounded-lg bg-white/70 p-3 font-mono text-xs text-zinc-800 dark:bg-zinc-950/60 dark:text-zinc-200">
              {raw}
            </pre>
          </details>
        ) : null}
      </Alert>
    );
  }
}
