/** Admin → Users: search, page through, disable or enable, grant or remove administrator rights, and set limits. */
import { useState } from "react";
import { Link } from "react-router";
import { ApiError, errorMessage } from "../../api/errors";
import { useAdminUsers, useMe, useUpdateAdminUser } from "../../api/queries";
import type { AdminUser, AdminUserUpdate } from "../../api/types";
import { ConfirmDialog } from "../../components/Dialog";
import { SearchIcon, UsersIcon } from "../../components/icons";
import { Alert, Badge, Button, EmptyState, Skeleton, inputClass } from "../../components/ui";
import { useDebounced } from "../../hooks/useDebounced";
import { dateTime, formatCompact, formatNumber, formatUsd, timeAgo } from "../../lib/format";
import { LimitsDialog } from "./LimitsDialog";

interface PendingChange {
  user: AdminUser;
  change: AdminUserUpdate;
}

export default function AdminUsers() {
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim(), 300);
  const users = useAdminUsers(q);
  const me = useMe();
  const update = useUpdateAdminUser();
  const [pending, setPending] = useState<PendingChange | null>(null);
  const [limitsOf, setLimitsOf] = useState<AdminUser | null>(null);
  const items = users.data?.pages.flatMap((page) => page.items) ?? [];

  function ask(user: AdminUser, change: AdminUserUpdate) {
    update.reset();
    setPending({ user, change });
  }

  return (
    <div className="space-y-4">
      <div className="relative max-w-md">
        <SearchIcon className="pointer-events-none absolute left-3 top-1/2 -translate-y-1/2 text-zinc-400" />
        <input
          type="search"
          aria-label="Search users"
          placeholder="Search by email"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
          className={`${inputClass} pl-9`}
        />
      </div>
      {users.isPending ? (
        <div className="space-y-2">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-12 w-full" />
          ))}
        </div>
      ) : users.isError ? (
        <Alert title="Could not load the users">{errorMessage(users.error)}</Alert>
      ) : items.length === 0 ? (
        <EmptyState icon={<UsersIcon />} title={q ? `No user matches “${q}”` : "No users yet"} />
      ) : (
        <UsersTable users={items} myId={me.data?.id} onChange={ask} onLimits={setLimitsOf} />
      )}
      {users.hasNextPage ? (
        <div className="flex justify-center">
          <Button busy={users.isFetchingNextPage} onClick={() => void users.fetchNextPage()}>
            Load more
          </Button>
        </div>
      ) : null}
      <p className="text-xs text-zinc-500 dark:text-zinc-400">
        System models (OpenAI, vLLM, or a model server on this machine) are added, checked and removed on the{" "}
        <Link to="/models" className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
          Models
        </Link>{" "}
        page.
      </p>
      <LimitsDialog user={limitsOf} onClose={() => setLimitsOf(null)} />
      <ChangeDialog
        pending={pending}
        busy={update.isPending}
        error={update.error}
        isSelf={pending?.user.id === me.data?.id}
        onCancel={() => setPending(null)}
        onConfirm={() => pending && update.mutate({ id: pending.user.id, body: pending.change }, { onSuccess: () => setPending(null) })}
      />
    </div>
  );
}

interface RowActions {
  onChange: (user: AdminUser, change: AdminUserUpdate) => void;
  onLimits: (user: AdminUser) => void;
}

function UsersTable({ users, myId, onChange, onLimits }: { users: AdminUser[]; myId: string | undefined } & RowActions) {
  return (
    <div className="overflow-x-auto rounded-xl border border-zinc-200 dark:border-zinc-800">
      <table className="w-full min-w-[48rem] text-left text-sm">
        <caption className="sr-only">Users, newest first</caption>
        <thead className="bg-zinc-50 text-xs uppercase tracking-wide text-zinc-500 dark:bg-zinc-900/60">
          <tr>
            <th scope="col" className="px-4 py-2 font-semibold">User</th>
            <th scope="col" className="px-4 py-2 font-semibold">Created</th>
            <th scope="col" className="px-4 py-2 font-semibold">Last active</th>
            <th scope="col" className="px-4 py-2 text-right font-semibold">Tokens (30 days)</th>
            <th scope="col" className="px-4 py-2 text-right font-semibold">Cost (30 days)</th>
            <th scope="col" className="px-4 py-2 text-right font-semibold">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
          {users.map((user) => (
            <UserRow key={user.id} user={user} isSelf={user.id === myId} onChange={onChange} onLimits={onLimits} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function UserRow({ user, isSelf, onChange, onLimits }: { user: AdminUser; isSelf: boolean } & RowActions) {
  const tokens = user.usage_30d.prompt_tokens + user.usage_30d.completion_tokens;
  return (
    <tr aria-label={user.email} className={user.disabled ? "bg-zinc-50/60 dark:bg-zinc-900/30" : undefined}>
      <td className="px-4 py-3">
        <div className="flex flex-wrap items-center gap-1.5">
          <span className={`font-medium ${user.disabled ? "text-zinc-500 line-through decoration-zinc-400" : ""}`}>{user.email}</span>
          {isSelf ? <Badge>You</Badge> : null}
          {user.is_admin ? <Badge tone="indigo">Admin</Badge> : null}
          {user.disabled ? <Badge tone="red">Disabled</Badge> : null}
        </div>
      </td>
      <td className="whitespace-nowrap px-4 py-3 text-zinc-600 dark:text-zinc-400" title={dateTime(user.created_at)}>
        {timeAgo(user.created_at)}
      </td>
      <td className="whitespace-nowrap px-4 py-3 text-zinc-600 dark:text-zinc-400" title={dateTime(user.last_active_at)}>
        {user.last_active_at ? timeAgo(user.last_active_at) : "never"}
      </td>
      <td className="whitespace-nowrap px-4 py-3 text-right tabular-nums" title={`${formatNumber(tokens)} tokens in ${formatNumber(user.usage_30d.requests)} requests`}>
        {formatCompact(tokens)}
      </td>
      <td className="whitespace-nowrap px-4 py-3 text-right tabular-nums">{user.usage_30d.cost_usd == null ? "—" : formatUsd(user.usage_30d.cost_usd)}</td>
      <td className="px-4 py-3">
        <div className="flex justify-end gap-1.5">
          <Button size="sm" variant="ghost" onClick={() => onLimits(user)} aria-label={`Limits: ${user.email}`}>
            Limits
          </Button>
          <Button size="sm" onClick={() => onChange(user, { is_admin: !user.is_admin })} aria-label={`${user.is_admin ? "Remove admin" : "Make admin"}: ${user.email}`}>
            {user.is_admin ? "Remove admin" : "Make admin"}
          </Button>
          <Button
            size="sm"
            variant={user.disabled ? "secondary" : "ghost"}
            onClick={() => onChange(user, { disabled: !user.disabled })}
            aria-label={`${user.disabled ? "Enable" : "Disable"}: ${user.email}`}
          >
            {user.disabled ? "Enable" : "Disable"}
          </Button>
        </div>
      </td>
    </tr>
  );
}

/** The words of each change's confirmation: what happens to the person. */
function describe(pending: PendingChange, isSelf: boolean): { title: string; confirm: string; message: string } {
  const { user, change } = pending;
  if (change.disabled === true) {
    return {
      title: `Disable ${user.email}?`,
      confirm: "Disable",
      message: `${isSelf ? "You are" : "They are"} signed out everywhere at once: every session ends and every personal API token is deleted. Signing in is refused until an administrator enables the account again. Nothing they keep is deleted.`,
    };
  }
  if (change.disabled === false) {
    return {
      title: `Enable ${user.email}?`,
      confirm: "Enable",
      message: "They can sign in again. Their earlier sessions and API tokens stay revoked.",
    };
  }
  if (change.is_admin === true) {
    return {
      title: `Make ${user.email} an administrator?`,
      confirm: "Make admin",
      message: "Administrators see every user, can disable accounts, change who may sign up, and manage the system models.",
    };
  }
  return {
    title: `Remove ${isSelf ? "your own" : "their"} administrator rights?`,
    confirm: "Remove admin",
    message: isSelf
      ? "You will no longer see this console. Another administrator can give the rights back."
      : `${user.email} will no longer see this console or manage the instance.`,
  };
}

function ChangeDialog({
  pending,
  busy,
  error,
  isSelf,
  onCancel,
  onConfirm,
}: {
  pending: PendingChange | null;
  busy: boolean;
  error: unknown;
  isSelf: boolean;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  const words = pending ? describe(pending, isSelf) : { title: "", confirm: "", message: "" };
  const lastAdmin = error instanceof ApiError && error.code === "last_admin";
  return (
    <ConfirmDialog
      open={pending !== null}
      title={words.title}
      confirmLabel={words.confirm}
      busy={busy}
      onCancel={onCancel}
      onConfirm={onConfirm}
      message={
        <div className="space-y-3">
          <p>{words.message}</p>
          {lastAdmin ? (
            <Alert title="You are the last administrator">
              This instance needs at least one enabled administrator. Make someone else an administrator first.
            </Alert>
          ) : error ? (
            <Alert title="Nothing was changed">{errorMessage(error)}</Alert>
          ) : null}
        </div>
      }
    />
  );
}
