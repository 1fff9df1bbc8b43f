/** Admin → Users → Limits: one user's requests per minute and tokens per day (blank: the server's default, 0: unlimited). */
import { useState, type FormEvent } from "react";
import { ApiError, errorMessage } from "../../api/errors";
import { useSetUserLimits, useUserLimits } from "../../api/queries";
import type { AdminUser, UserLimits } from "../../api/types";
import { Dialog } from "../../components/Dialog";
import { Alert, Button, Field, Skeleton } from "../../components/ui";
import { formatNumber } from "../../lib/format";

/** "" → null (the server's default); otherwise a whole number ≥ 0, or the reason it is not. */
export function parseLimit(text: string): { value: number | null } | { error: string } {
  const trimmed = text.trim().replace(/[\s,_]/g, "");
  if (trimmed === "") return { value: null };
  if (!/^\d+$/.test(trimmed)) return { error: "A whole number, 0 for unlimited, or empty for the server's default." };
  return { value: Number(trimmed) };
}

function defaultHint(effective: number, override: number | null | undefined): string {
  if (override != null) return override === 0 ? "Unlimited for this user." : `This user's own limit.`;
  return effective === 0 ? "Server default: unlimited." : `Server default: ${formatNumber(effective)}.`;
}

export function LimitsDialog({ user, onClose }: { user: AdminUser | null; onClose: () => void }) {
  const limits = useUserLimits(user?.id ?? null);
  return (
    <Dialog open={user !== null} onClose={onClose} title={user ? `Limits of ${user.email}` : ""}>
      {limits.isPending ? (
        <div className="space-y-3">
          <Skeleton className="h-10 w-full" />
          <Skeleton className="h-10 w-full" />
        </div>
      ) : limits.isError ? (
        <Alert title="Could not load the limits">{errorMessage(limits.error)}</Alert>
      ) : user ? (
        <LimitsForm key={user.id} userId={user.id} limits={limits.data} onDone={onClose} />
      ) : null}
    </Dialog>
  );
}

function LimitsForm({ userId, limits, onDone }: { userId: string; limits: UserLimits; onDone: () => void }) {
  const save = useSetUserLimits();
  const [requests, setRequests] = useState(limits.requests_per_minute_override?.toString() ?? "");
  const [tokens, setTokens] = useState(limits.tokens_per_day_override?.toString() ?? "");
  const [errors, setErrors] = useState<{ requests?: string; tokens?: string }>({});

  function submit(event: FormEvent) {
    event.preventDefault();
    const rpm = parseLimit(requests);
    const tpd = parseLimit(tokens);
    const found = { requests: "error" in rpm ? rpm.error : undefined, tokens: "error" in tpd ? tpd.error : undefined };
    setErrors(found);
    if ("error" in rpm || "error" in tpd) return;
    save.mutate({ id: userId, body: { requests_per_minute: rpm.value, tokens_per_day: tpd.value } }, { onSuccess: onDone });
  }

  const serverError = save.error instanceof ApiError ? save.error : null;
  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      <Field
        label="Requests per minute"
        inputMode="numeric"
        placeholder={`Default (${limits.requests_per_minute_override == null ? formatNumber(limits.requests_per_minute) : "server"})`}
        value={requests}
        onChange={(event) => setRequests(event.target.value)}
        hint={defaultHint(limits.requests_per_minute, limits.requests_per_minute_override)}
        error={errors.requests ?? serverError?.fieldError("requests_per_minute")}
      />
      <Field
        label="Tokens per day"
        inputMode="numeric"
        placeholder={`Default (${limits.tokens_per_day_override == null ? formatNumber(limits.tokens_per_day) : "server"})`}
        value={tokens}
        onChange={(event) => setTokens(event.target.value)}
        hint={defaultHint(limits.tokens_per_day, limits.tokens_per_day_override)}
        error={errors.tokens ?? serverError?.fieldError("tokens_per_day")}
      />
      <p className="text-xs text-zinc-500 dark:text-zinc-400">Leave a field empty for the server's default; 0 means unlimited.</p>
      {save.isError && !serverError?.problem.errors ? <Alert title="Nothing was changed">{errorMessage(save.error)}</Alert> : null}
      <div className="flex justify-end gap-2">
        <Button type="button" onClick={onDone}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" busy={save.isPending}>
          Save limits
        </Button>
      </div>
    </form>
  );
}
