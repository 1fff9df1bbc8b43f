/** Toasts: a short message at the bottom of the screen, with an optional action (Undo) for a few seconds. */
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";

export interface ToastOptions {
  message: string;
  actionLabel?: string;
  /** The action was chosen before the toast expired. */
  onAction?: () => void;
  /** The toast expired (or another replaced it) without its action. */
  onExpire?: () => void;
  durationMs?: number;
}

interface ShownToast extends ToastOptions {
  id: number;
}

type ShowToast = (options: ToastOptions) => void;

const ToastContext = createContext<ShowToast | null>(null);

export const UNDO_MS = 5000;

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toast, setToast] = useState<ShownToast | null>(null);
  const current = useRef<ShownToast | null>(null);
  const timer = useRef<number | undefined>(undefined);
  const counter = useRef(0);

  const finish = useCallback((acted: boolean) => {
    const shown = current.current;
    window.clearTimeout(timer.current);
    current.current = null;
    setToast(null);
    if (!shown) return;
    if (acted) shown.onAction?.();
    else shown.onExpire?.();
  }, []);

  const show = useCallback<ShowToast>(
    (options) => {
      finish(false); // the previous toast's deferred work happens now
      const next = { ...options, id: ++counter.current };
      current.current = next;
      setToast(next);
      timer.current = window.setTimeout(() => finish(false), options.durationMs ?? UNDO_MS);
    },
    [finish],
  );

  // Leaving the page must not lose a deferred action (a delete that was not undone).
  useEffect(() => {
    const onLeave = () => finish(false);
    window.addEventListener("pagehide", onLeave);
    return () => {
      window.removeEventListener("pagehide", onLeave);
      finish(false);
    };
  }, [finish]);

  return (
    <ToastContext.Provider value={show}>
      {children}
      <div aria-live="polite" className="pointer-events-none fixed inset-x-0 bottom-4 z-50 flex justify-center px-4">
        {toast ? (
          <div role="status" className="pointer-events-auto flex items-center gap-4 rounded-xl bg-zinc-900 px-4 py-3 text-sm text-white shadow-lg dark:bg-zinc-100 dark:text-zinc-900">
            <span>{toast.message}</span>
            {toast.actionLabel ? (
              <button type="button" onClick={() => finish(true)} className="font-semibold text-indigo-300 underline-offset-2 hover:underline dark:text-indigo-700">
                {toast.actionLabel}
              </button>
            ) : null}
          </div>
        ) : null}
      </div>
    </ToastContext.Provider>
  );
}

export function useToast(): ShowToast {
  const show = useContext(ToastContext);
  // Outside a provider (tests of one component): actions run at once, as if the toast expired.
  return show ?? ((options) => options.onExpire?.());
}
