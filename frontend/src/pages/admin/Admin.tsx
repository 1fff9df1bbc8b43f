/** The admin console's frame: only administrators get past it; tabs for users, the audit log and registration,
 * and a way to the system models (managed on the Models page, where administrators add, check and remove them). */
import { Suspense } from "react";
import { Link, NavLink, Outlet } from "react-router";
import { errorMessage } from "../../api/errors";
import { useMe } from "../../api/queries";
import { CpuIcon, ListIcon, ShieldIcon, UsersIcon, LinkIcon } from "../../components/icons";
import { PageSkeleton } from "../../components/PageSkeleton";
import { Alert, EmptyState, PageHeader, Skeleton } from "../../components/ui";

const TABS = [
  { to: "/admin", label: "Users", icon: UsersIcon, end: true },
  { to: "/admin/audit", label: "Audit log", icon: ListIcon, end: false },
  { to: "/admin/registration", label: "Registration", icon: LinkIcon, end: false },
  { to: "/models", label: "System models", icon: CpuIcon, end: true },
];

export default function Admin() {
  const me = useMe();
  if (me.isPending) {
    return (
      <div className="mx-auto w-full max-w-5xl px-4 py-8 sm:px-6">
        <Skeleton className="h-8 w-48" />
      </div>
    );
  }
  if (me.isError) {
    return (
      <div className="mx-auto w-full max-w-5xl px-4 py-8 sm:px-6">
        <Alert title="Could not load your account">{errorMessage(me.error)}</Alert>
      </div>
    );
  }
  if (!me.data.is_admin) return <NeedsAdministrator />;
  return (
    <div className="mx-auto w-full max-w-5xl px-4 py-6 sm:px-6 sm:py-8">
      <PageHeader title="Administration" description="The people who use this Codesmith, what administrators changed, and who may sign up." />
      <nav aria-label="Administration" className="mb-6 flex gap-1 overflow-x-auto border-b border-zinc-200 dark:border-zinc-800">
        {TABS.map(({ to, label, icon: Icon, end }) => (
          <NavLink
            key={to}
            to={to}
            end={end}
            className={({ isActive }) =>
              `-mb-px flex shrink-0 items-center gap-2 border-b-2 px-3 py-2 text-sm font-medium ${
                isActive
                  ? "border-indigo-600 text-zinc-900 dark:border-indigo-400 dark:text-white"
                  : "border-transparent text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-white"
              }`
            }
          >
            <Icon /> {label}
          </NavLink>
        ))}
      </nav>
      <Suspense fallback={<PageSkeleton />}>
        <Outlet />
      </Suspense>
    </div>
  );
}

/** What a signed-in user who is not an administrator sees at /admin (the API would answer 403 anyway). */
export function NeedsAdministrator() {
  return (
    <div className="mx-auto w-full max-w-3xl px-4 py-10 sm:px-6">
      <EmptyState
        icon={<ShieldIcon />}
        title="This page needs an administrator"
        action={
          <Link to="/" className="text-sm font-medium text-indigo-600 hover:underline dark:text-indigo-400">
            Back to your conversations
          </Link>
        }
      >
        The admin console is for the people who run this Codesmith. If you need an account enabled, an invitation or a model added, ask
        one of them.
      </EmptyState>
    </div>
  );
}
