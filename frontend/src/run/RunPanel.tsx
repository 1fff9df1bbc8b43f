/** The panel under a code block that runs it (Python, JavaScript) or previews it (HTML, CSS, SVG) in the sandbox. */
import { useEffect, useRef, useState } from "react";
import type { RunKind } from "./kinds";
import { createSandboxFrame, RUN_TIME_LIMIT_MS, startRun, type RunHandle, type RunPhase } from "./sandbox";

interface RunPanelProps {
  kind: RunKind;
  code: string;
  language: string | null;
  onClose: () => void;
}

export default function RunPanel({ kind, code, language, onClose }: RunPanelProps) {
  return kind === "preview" ? (
    <Preview code={code} language={language} onClose={onClose} />
  ) : (
    <Output kind={kind} code={code} onClose={onClose} />
  );
}

interface Chunk {
  stream: "stdout" | "stderr";
  text: string;
}

const MAX_OUTPUT_CHARS = 200_000;

const PHASE_TEXT: Record<RunPhase, string> = {
  starting: "Starting the sandbox…",
  loading: "Loading Python (Pyodide)…",
  running: "Running…",
  done: "Finished",
  failed: "Failed",
  stopped: "Stopped",
  "timed-out": `Stopped: the ${RUN_TIME_LIMIT_MS / 1000} s time limit`,
};

function Output({ kind, code, onClose }: { kind: "python" | "javascript"; code: string; onClose: () => void }) {
  const [chunks, setChunks] = useState<Chunk[]>([]);
  const [phase, setPhase] = useState<RunPhase>("starting");
  const [loadMs, setLoadMs] = useState<number | null>(null);
  const handle = useRef<RunHandle | null>(null);
  const started = useRef(0);
  const [elapsed, setElapsed] = useState<number | null>(null);

  useEffect(() => {
    let size = 0;
    const run = startRun(kind, code, {
      onOutput: (stream, text) => {
        // A print loop must not eat the tab's memory: keep the first 200 000 characters.
        if (size >= MAX_OUTPUT_CHARS) return;
        const kept = text.slice(0, MAX_OUTPUT_CHARS - size);
        size += kept.length;
        setChunks((list) => [...list, { stream, text: size >= MAX_OUTPUT_CHARS ? `${kept}\n[output cut]\n` : kept }]);
      },
      onPhase: (next) => {
        if (next === "running") started.current = performance.now();
        else if (started.current && next !== "loading") setElapsed(performance.now() - started.current);
        setPhase(next);
      },
      onLoaded: setLoadMs,
    });
    handle.current = run;
    return () => run.stop();
  }, [kind, code]);

  const active = phase === "starting" || phase === "loading" || phase === "running";
  const tone = phase === "failed" || phase === "timed-out" ? "text-red-700 dark:text-red-300" : "text-zinc-600 dark:text-zinc-400";
  return (
    <section aria-label="Run output" className="border-t border-zinc-200 dark:border-zinc-800">
      <div className="flex items-center gap-2 px-3 py-1.5 text-xs">
        <span role="status" className={tone}>
          {PHASE_TEXT[phase]}
          {elapsed !== null && !active ? ` after ${(elapsed / 1000).toFixed(1)} s` : ""}
          {loadMs !== null ? ` · Python loaded in ${(loadMs / 1000).toFixed(1)} s` : ""}
        </span>
        <span className="ml-auto flex gap-1">
          {active ? (
            <button type="button" onClick={() => handle.current?.stop()} className="rounded-md px-2 py-1 font-medium text-red-700 hover:bg-red-100 dark:text-red-300 dark:hover:bg-red-500/20">
              Stop
            </button>
          ) : null}
          <button type="button" onClick={onClose} className="rounded-md px-2 py-1 text-zinc-600 hover:bg-zinc-200 dark:text-zinc-400 dark:hover:bg-zinc-800" aria-label="Close the output">
            Close
          </button>
        </span>
      </div>
      <pre role="log" aria-label="Output" className="max-h-72 overflow-auto whitespace-pre-wrap break-words bg-zinc-900 px-3 py-2 font-mono text-xs text-zinc-100">
        {chunks.length === 0 ? <span className="text-zinc-500">{active ? "…" : "(no output)"}</span> : null}
        {chunks.map((chunk, index) => (
          <span key={index} className={chunk.stream === "stderr" ? "text-red-300" : undefined}>
            {chunk.text}
          </span>
        ))}
      </pre>
    </section>
  );
}

function Preview({ code, language, onClose }: { code: string; language: string | null; onClose: () => void }) {
  const host = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const frame = createSandboxFrame();
    frame.title = "Preview";
    frame.className = "block h-80 w-full bg-white";
    const onMessage = (event: MessageEvent) => {
      if (event.source !== frame.contentWindow) return;
      const data: unknown = event.data;
      if (typeof data === "object" && data !== null && (data as { type?: unknown }).type === "ready") {
        frame.contentWindow?.postMessage({ kind: "preview", code, language }, "*");
      }
    };
    addEventListener("message", onMessage);
    host.current?.appendChild(frame);
    return () => {
      removeEventListener("message", onMessage);
      frame.remove();
    };
  }, [code, language]);

  return (
    <section aria-label="Preview" className="border-t border-zinc-200 dark:border-zinc-800">
      <div className="flex items-center gap-2 px-3 py-1.5 text-xs text-zinc-600 dark:text-zinc-400">
        <span>Preview in a sandbox: its scripts run, without access to Codesmith or your session.</span>
        <button type="button" onClick={onClose} className="ml-auto rounded-md px-2 py-1 hover:bg-zinc-200 dark:hover:bg-zinc-800" aria-label="Close the preview">
          Close
        </button>
      </div>
      <div ref={host} />
    </section>
  );
}
