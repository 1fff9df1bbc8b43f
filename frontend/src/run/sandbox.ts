/**
 * Running code in the app's sandbox page (/sandbox.html, served with `Content-Security-Policy: sandbox
 * allow-scripts`, framed with `sandbox="allow-scripts"` and never `allow-same-origin`): an opaque origin,
 * so the code can read neither the app's storage nor its cookies, and cannot call the API as the user.
 * Nothing runs on the server. Python loads Pyodide (served by the app under /pyodide/) inside the frame's worker.
 */
import type { RunKind } from "./kinds";

export const SANDBOX_URL = "/sandbox.html";
/** How long the code itself may run (after Pyodide has loaded); then the frame and its worker are removed. */
export const RUN_TIME_LIMIT_MS = 10_000;
/** How long loading the runner (Pyodide: about 12 MB, see frontend/README.md) may take. */
export const LOAD_TIME_LIMIT_MS = 60_000;

export type RunPhase = "starting" | "loading" | "running" | "done" | "failed" | "stopped" | "timed-out";

export interface RunCallbacks {
  onOutput: (stream: "stdout" | "stderr", text: string) => void;
  onPhase: (phase: RunPhase) => void;
  /** Pyodide's load time in ms, as measured inside the worker. */
  onLoaded?: (ms: number) => void;
}

export interface RunHandle {
  stop: () => void;
}

const FINAL: ReadonlySet<RunPhase> = new Set(["done", "failed", "stopped", "timed-out"]);

/** A hidden sandbox frame for one run; removed (the worker with it) when the run ends, is stopped, or runs too long. */
export function startRun(kind: Exclude<RunKind, "preview">, code: string, callbacks: RunCallbacks, host: HTMLElement = document.body): RunHandle {
  const frame = createSandboxFrame();
  frame.hidden = true;
  let phase: RunPhase = "starting";
  let timer = setTimeout(() => finish("timed-out"), LOAD_TIME_LIMIT_MS);

  function setPhase(next: RunPhase) {
    if (FINAL.has(phase)) return;
    phase = next;
    callbacks.onPhase(next);
  }

  function finish(final: RunPhase) {
    if (FINAL.has(phase)) return;
    clearTimeout(timer);
    removeEventListener("message", onMessage);
    frame.remove();
    setPhase(final);
  }

  function onMessage(event: MessageEvent) {
    if (event.source !== frame.contentWindow || FINAL.has(phase)) return;
    const { type, text } = parseMessage(event.data);
    switch (type) {
      case "ready":
        frame.contentWindow?.postMessage({ kind, code }, "*");
        return;
      case "status":
        if (text === "loading") setPhase("loading");
        if (text === "running") {
          clearTimeout(timer);
          timer = setTimeout(() => finish("timed-out"), RUN_TIME_LIMIT_MS);
          setPhase("running");
        }
        return;
      case "loaded":
        callbacks.onLoaded?.(Number(text));
        return;
      case "stdout":
      case "stderr":
        callbacks.onOutput(type, text);
        return;
      case "done":
      case "failed":
        finish(type);
        return;
    }
  }

  addEventListener("message", onMessage);
  host.appendChild(frame);
  callbacks.onPhase(phase);
  return { stop: () => finish("stopped") };
}

/** The frame every runner and preview uses: scripts yes, its own origin no (no allow-same-origin). */
export function createSandboxFrame(): HTMLIFrameElement {
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.src = SANDBOX_URL;
  return frame;
}

/** Only strings come out of the sandbox: anything else it posts is ignored. */
function parseMessage(data: unknown): { type: string; text: string } {
  if (typeof data !== "object" || data === null) return { type: "", text: "" };
  const { type, text } = data as { type?: unknown; text?: unknown };
  return { type: typeof type === "string" ? type : "", text: typeof text === "string" ? text : "" };
}
