/** Admin → Registration: who may create an account, and invitation links (shown once, copied, revoked). */
import { useState } from "react";
import { ApiError, errorMessage } from "../../api/errors";
import { useCreateInvitation, useInvitations, useRegistrationSettings, useRevokeInvitation, useSetRegistrationMode } from "../../api/queries";
import type { Invitation, InvitationCreated, RegistrationMode } from "../../api/types";
import { ConfirmDialog } from "../../components/Dialog";
import { CheckIcon, CopyIcon, TrashIcon } from "../../components/icons";
import { Alert, Badge, Button, Card, CardTitle, Field, Skeleton, inputClass, type Tone } from "../../components/ui";
import { copyText } from "../../lib/clipboard";
import { dateTime, timeAgo } from "../../lib/format";

const MODES: { mode: RegistrationMode; label: string; description: string }[] = [
  { mode: "open", label: "Open", description: "Anyone who can reach this server can create an account." },
  { mode: "invite", label: "By invitation", description: "Only people with an invitation link from an administrator." },
  { mode: "closed", label: "Closed", description: "Nobody can create an account; existing accounts keep working." },
];

export default function AdminRegistration() {
  return (
    <div className="space-y-6">
      <ModeCard />
      <InvitationsCard />
    </div>
  );
}

function ModeCard() {
  const settings = useRegistrationSettings();
  const setMode = useSetRegistrationMode();
  return (
    <Card>
      <CardTitle title="Who can create an account" description="Applies at once, on every server of this instance." />
      {settings.isPending ? (
        <Skeleton className="h-24 w-full" />
      ) : settings.isError ? (
        <Alert title="Could not load the registration mode">{errorMessage(settings.error)}</Alert>
      ) : (
        <fieldset aria-busy={setMode.isPending || undefined}>
          <legend className="sr-only">Registration</legend>
          <div className="grid gap-2 sm:grid-cols-3">
            {MODES.map(({ mode, label, description }) => (
              <label
                key={mode}
                className="flex cursor-pointer gap-3 rounded-xl border border-zinc-200 p-3 has-[:checked]:border-indigo-500 has-[:checked]:bg-indigo-50/60 dark:border-zinc-800 dark:has-[:checked]:border-indigo-400 dark:has-[:checked]:bg-indigo-500/10"
              >
                <input
                  type="radio"
                  name="registration-mode"
                  value={mode}
                  checked={(setMode.isPending ? setMode.variables : settings.data.mode) === mode}
                  disabled={setMode.isPending}
                  onChange={() => setMode.mutate(mode)}
                  className="mt-1 accent-indigo-600"
                />
                <span>
                  <span className="block text-sm font-medium">{label}</span>
                  <span className="block text-xs text-zinc-600 dark:text-zinc-400">{description}</span>
                </span>
              </label>
            ))}
          </div>
          <p aria-live="polite" className="mt-3 text-xs text-zinc-500">
            {setMode.isSuccess ? <span className="text-emerald-700 dark:text-emerald-400">Saved. </span> : null}
            {setMode.isError ? <span className="text-red-600 dark:text-red-400">{errorMessage(setMode.error)} </span> : null}
            The server starts as “{MODES.find((item) => item.mode === settings.data.default_mode)?.label ?? settings.data.default_mode}”
            (CODESMITH_REGISTRATION); a change here lasts until an administrator changes it again.
          </p>
        </fieldset>
      )}
    </Card>
  );
}

const EXPIRY_DAYS = [1, 7, 30, 90];

function InvitationsCard() {
  const invitations = useInvitations();
  const create = useCreateInvitation();
  const revoke = useRevokeInvitation();
  const [email, setEmail] = useState("");
  const [days, setDays] = useState(7);
  const [created, setCreated] = useState<InvitationCreated | null>(null);
  const [revoking, setRevoking] = useState<Invitation | null>(null);
  const items = invitations.data?.pages.flatMap((page) => page.items) ?? [];
  const emailError = create.error instanceof ApiError ? create.error.fieldError("email") : undefined;

  return (
    <Card>
      <CardTitle
        title="Invitations"
        description="A link registers one account. Send it yourself (by chat or email); it is shown once, when you create it."
      />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const address = email.trim();
          create.mutate(
            { ...(address ? { email: address } : {}), expires_in_days: days },
            {
              onSuccess: (invitation) => {
                setCreated(invitation);
                setEmail("");
              },
            },
          );
        }}
        className="flex flex-col gap-2 sm:flex-row sm:items-end"
      >
        <Field
          className="flex-1"
          label="For email (optional)"
          type="email"
          placeholder="Anyone with the link"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={emailError}
        />
        <div>
          <label htmlFor="invitation-expiry" className="mb-1.5 block text-sm font-medium text-zinc-800 dark:text-zinc-200">
            Expires after
          </label>
          <select id="invitation-expiry" value={days} onChange={(event) => setDays(Number(event.target.value))} className={`${inputClass} h-[38px] sm:w-32`}>
            {EXPIRY_DAYS.map((value) => (
              <option key={value} value={value}>
                {value === 1 ? "1 day" : `${value} days`}
              </option>
            ))}
          </select>
        </div>
        <Button type="submit" variant="primary" busy={create.isPending}>
          Create invitation
        </Button>
      </form>
      {create.isError && !emailError ? <p className="mt-2 text-sm text-red-600 dark:text-red-400">{errorMessage(create.error)}</p> : null}
      {created ? <NewInvitation invitation={created} onDismiss={() => setCreated(null)} /> : null}

      <div className="mt-5">
        {invitations.isPending ? (
          <Skeleton className="h-16 w-full" />
        ) : invitations.isError ? (
          <Alert title="Could not load the invitations">{errorMessage(invitations.error)}</Alert>
        ) : items.length === 0 ? (
          <p className="text-sm text-zinc-500">No invitations yet.</p>
        ) : (
          <ul aria-label="Invitations" className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
            {items.map((invitation) => (
              <InvitationRow key={invitation.id} invitation={invitation} onRevoke={() => setRevoking(invitation)} />
            ))}
          </ul>
        )}
        {invitations.hasNextPage ? (
          <div className="mt-3 flex justify-center">
            <Button busy={invitations.isFetchingNextPage} onClick={() => void invitations.fetchNextPage()}>
              Load more
            </Button>
          </div>
        ) : null}
      </div>
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this invitation?"
        confirmLabel="Revoke"
        busy={revoke.isPending}
        onCancel={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking.id, { onSuccess: () => setRevoking(null) })}
        message={
          <>
            <p>Its link stops working at once{revoking?.email ? ` for ${revoking.email}` : ""}. Accounts made with it stay.</p>
            {revoke.isError ? <p className="mt-2 text-red-600 dark:text-red-400">{errorMessage(revoke.error)}</p> : null}
          </>
        }
      />
    </Card>
  );
}

export type InvitationStatus = "used" | "revoked" | "expired" | "active";

export function invitationStatus(invitation: Invitation, now = Date.now()): InvitationStatus {
  if (invitation.used_at) return "used";
  if (invitation.revoked_at) return "revoked";
  if (Date.parse(invitation.expires_at) <= now) return "expired";
  return "active";
}

const STATUS: Record<InvitationStatus, { label: string; tone: Tone }> = {
  active: { label: "Active", tone: "green" },
  used: { label: "Used", tone: "indigo" },
  revoked: { label: "Revoked", tone: "red" },
  expired: { label: "Expired", tone: "zinc" },
};

function InvitationRow({ invitation, onRevoke }: { invitation: Invitation; onRevoke: () => void }) {
  const status = invitationStatus(invitation);
  const when =
    status === "used"
      ? `used ${timeAgo(invitation.used_at)}`
      : status === "revoked"
        ? `revoked ${timeAgo(invitation.revoked_at)}`
        : status === "expired"
          ? `expired ${timeAgo(invitation.expires_at)}`
          : `expires ${dateTime(invitation.expires_at)}`;
  return (
    <li className="flex flex-wrap items-center gap-3 px-4 py-3">
      <div className="min-w-0 flex-1">
        <p className="flex flex-wrap items-center gap-2 text-sm font-medium">
          <span className="truncate">{invitation.email ?? "Anyone with the link"}</span>
          <Badge tone={STATUS[status].tone}>{STATUS[status].label}</Badge>
        </p>
        <p className="text-xs text-zinc-500">
          Created {timeAgo(invitation.created_at)} · {when}
        </p>
      </div>
      {status === "active" ? (
        <Button size="sm" variant="ghost" onClick={onRevoke} aria-label={`Revoke the invitation for ${invitation.email ?? "anyone with the link"}`}>
          <TrashIcon /> Revoke
        </Button>
      ) : null}
    </li>
  );
}

function NewInvitation({ invitation, onDismiss }: { invitation: InvitationCreated; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  // The API gives a path (`/sign-up?invitation=…`): the link people receive names this server.
  const link = new URL(invitation.url, globalThis.location.origin).toString();
  return (
    <div role="status" className="mt-4 rounded-xl border border-emerald-300 bg-emerald-50 p-4 dark:border-emerald-900 dark:bg-emerald-950/40">
      <p className="text-sm font-semibold text-emerald-900 dark:text-emerald-200">
        Copy the invitation link now. You will not see it again.
      </p>
      <p className="mt-0.5 text-xs text-emerald-900/80 dark:text-emerald-200/80">
        {invitation.email ? `Only ${invitation.email} can use it` : "Anyone with it can create one account"}, until {dateTime(invitation.expires_at)}.
      </p>
      <div className="mt-3 flex gap-2">
        <label htmlFor="new-invitation" className="sr-only">
          Invitation link
        </label>
        <input id="new-invitation" readOnly value={link} onFocus={(event) => event.currentTarget.select()} className={`${inputClass} font-mono`} />
        <Button variant="primary" onClick={() => copyText(link).then(() => setCopied(true))}>
          {copied ? <CheckIcon /> : <CopyIcon />} {copied ? "Copied" : "Copy"}
        </Button>
      </div>
      <button type="button" onClick={onDismiss} className="mt-3 text-sm font-medium text-emerald-900 underline dark:text-emerald-200">
        Done
      </button>
    </div>
  );
}
