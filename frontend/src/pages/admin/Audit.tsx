/** Admin → Audit log: every administrative action, newest first, filtered by action. */
import { useState } from "react";
import { errorMessage } from "../../api/errors";
import { useAuditLog } from "../../api/queries";
import type { AuditEvent } from "../../api/types";
import { ListIcon } from "../../components/icons";
import { Alert, Badge, Button, EmptyState, Skeleton, inputClass, type Tone } from "../../components/ui";
import { dateTime, timeAgo } from "../../lib/format";

/** The actions docs/api.md lists, in the words of the filter. */
export const AUDIT_ACTIONS: { action: string; label: string; tone: Tone }[] = [
  { action: "user.update", label: "User changed", tone: "amber" },
  { action: "user.limits", label: "User limits changed", tone: "amber" },
  { action: "registration.update", label: "Registration mode changed", tone: "indigo" },
  { action: "invitation.create", label: "Invitation created", tone: "green" },
  { action: "invitation.revoke", label: "Invitation revoked", tone: "red" },
  { action: "model.create", label: "System model added", tone: "green" },
  { action: "model.update", label: "System model changed", tone: "zinc" },
  { action: "model.delete", label: "System model removed", tone: "red" },
];

function actionInfo(action: string) {
  return AUDIT_ACTIONS.find((item) => item.action === action) ?? { action, label: action, tone: "zinc" as Tone };
}

export default function AdminAudit() {
  const [action, setAction] = useState("");
  const audit = useAuditLog(action);
  const events = audit.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor="audit-action" className="mb-1.5 block text-sm font-medium text-zinc-800 dark:text-zinc-200">
            Action
          </label>
          <select id="audit-action" value={action} onChange={(event) => setAction(event.target.value)} className={`${inputClass} sm:w-64`}>
            <option value="">All actions</option>
            {AUDIT_ACTIONS.map((item) => (
              <option key={item.action} value={item.action}>
                {item.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      {audit.isPending ? (
        <div className="space-y-2">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-14 w-full" />
          ))}
        </div>
      ) : audit.isError ? (
        <Alert title="Could not load the audit log">{errorMessage(audit.error)}</Alert>
      ) : events.length === 0 ? (
        <EmptyState icon={<ListIcon />} title="Nothing recorded yet">
          {action ? "No action of this kind so far." : "Changes that administrators make appear here."}
        </EmptyState>
      ) : (
        <ol aria-label="Audit log" className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
          {events.map((event) => (
            <AuditEntry key={event.id} event={event} />
          ))}
        </ol>
      )}
      {audit.hasNextPage ? (
        <div className="flex justify-center">
          <Button busy={audit.isFetchingNextPage} onClick={() => void audit.fetchNextPage()}>
            Load more
          </Button>
        </div>
      ) : null}
    </div>
  );
}

function AuditEntry({ event }: { event: AuditEvent }) {
  const info = actionInfo(event.action);
  const details = Object.entries(event.details);
  return (
    <li className="flex flex-col gap-1 px-4 py-3 sm:flex-row sm:items-start sm:gap-4">
      <time dateTime={event.created_at} title={dateTime(event.created_at)} className="w-32 shrink-0 text-xs text-zinc-500 sm:pt-0.5">
        {timeAgo(event.created_at)}
      </time>
      <div className="min-w-0 flex-1 text-sm">
        <p className="flex flex-wrap items-center gap-2">
          <Badge tone={info.tone}>{info.label}</Badge>
          <span className="text-zinc-700 dark:text-zinc-300">
            by <span className="font-medium">{event.actor?.email ?? "a deleted user"}</span>
          </span>
        </p>
        <p className="mt-1 text-xs text-zinc-500">
          {event.target_type ? `${event.target_type} ` : ""}
          {event.target_id ? <code className="font-mono">{event.target_id}</code> : null}
          {details.length ? (
            <>
              {event.target_type || event.target_id ? " · " : ""}
              {details.map(([key, value]) => `${key}: ${formatDetail(value)}`).join(", ")}
            </>
          ) : null}
        </p>
      </div>
    </li>
  );
}

function formatDetail(value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}
