/** The signed-in shell: a sidebar (a drawer on phones) with navigation and recent conversations. */
import { Suspense, useEffect, useState, type ReactNode } from "react";
import { Link, NavLink, Outlet, useLocation, useNavigate } from "react-router";
import { useConversations, useMe } from "../api/queries";
import { useAuth } from "../lib/auth";
import { useTheme, type ThemeChoice } from "../lib/theme";
import {
  ChartIcon,
  CodeIcon,
  CpuIcon,
  HomeIcon,
  LogOutIcon,
  MenuIcon,
  MonitorIcon,
  MoonIcon,
  PlusIcon,
  SettingsIcon,
  ShieldIcon,
  SunIcon,
  XIcon,
} from "./icons";
import { PageSkeleton } from "./PageSkeleton";
import { Shortcuts, openShortcuts } from "./Shortcuts";
import { ToastProvider } from "./Toast";
import { Skeleton } from "./ui";

const NAV = [
  { to: "/", label: "Home", icon: HomeIcon, end: true },
  { to: "/models", label: "Models", icon: CpuIcon, end: false },
  { to: "/usage", label: "Usage", icon: ChartIcon, end: false },
  { to: "/settings", label: "Settings", icon: SettingsIcon, end: false },
];
const ADMIN_NAV = { to: "/admin", label: "Admin", icon: ShieldIcon, end: false };

export function Layout() {
  const [drawerOpen, setDrawerOpen] = useState(false);
  const location = useLocation();
  useEffect(() => setDrawerOpen(false), [location.pathname]);

  useEffect(() => {
    if (!drawerOpen) return;
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && setDrawerOpen(false);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [drawerOpen]);

  return (
    <ToastProvider>
    <Shortcuts />
    <div className="flex h-dvh overflow-hidden">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded-md focus:bg-indigo-600 focus:px-3 focus:py-2 focus:text-white"
      >
        Skip to content
      </a>
      <aside className="hidden w-72 shrink-0 border-r border-zinc-200 bg-zinc-50 md:flex dark:border-zinc-800 dark:bg-zinc-900/40">
        <Sidebar />
      </aside>
      {drawerOpen ? (
        <div className="fixed inset-0 z-40 md:hidden" role="dialog" aria-modal="true" aria-label="Navigation">
          <div className="absolute inset-0 bg-zinc-950/50" onClick={() => setDrawerOpen(false)} />
          <aside className="absolute inset-y-0 left-0 flex w-[min(18rem,85vw)] bg-zinc-50 shadow-xl dark:bg-zinc-900">
            <button
              type="button"
              onClick={() => setDrawerOpen(false)}
              className="absolute right-2 top-3 rounded-lg p-2 text-zinc-600 hover:bg-zinc-200 dark:text-zinc-300 dark:hover:bg-zinc-800"
              aria-label="Close navigation"
              autoFocus
            >
              <XIcon />
            </button>
            <Sidebar />
          </aside>
        </div>
      ) : null}
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex h-14 shrink-0 items-center gap-2 border-b border-zinc-200 px-3 md:hidden dark:border-zinc-800">
          <button
            type="button"
            onClick={() => setDrawerOpen(true)}
            className="rounded-lg p-2 text-xl text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
            aria-label="Open navigation"
            aria-expanded={drawerOpen}
          >
            <MenuIcon />
          </button>
          <Logo />
          <Link
            to="/new"
            className="ml-auto rounded-lg p-2 text-xl text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
            aria-label="New generation"
          >
            <PlusIcon />
          </Link>
        </header>
        <main id="main" className="min-h-0 flex-1 overflow-y-auto" tabIndex={-1}>
          <Suspense fallback={<PageSkeleton />}>
            <Outlet />
          </Suspense>
        </main>
      </div>
    </div>
    </ToastProvider>
  );
}

function Logo() {
  return (
    <Link to="/" className="flex items-center gap-2 rounded-lg font-semibold tracking-tight">
      <span className="grid size-7 place-items-center rounded-lg bg-indigo-600 text-white">
        <CodeIcon />
      </span>
      Codesmith
    </Link>
  );
}

function Sidebar() {
  const me = useMe();
  // Only administrators see the console's link (the page itself also says so to anyone else).
  const nav = me.data?.is_admin ? [...NAV, ADMIN_NAV] : NAV;
  return (
    <div className="flex min-h-0 w-full flex-col">
      <div className="flex h-14 shrink-0 items-center px-4">
        <Logo />
      </div>
      <div className="px-3">
        <Link
          to="/new"
          className="flex h-10 items-center justify-center gap-2 rounded-lg bg-indigo-600 text-sm font-medium text-white shadow-sm hover:bg-indigo-500"
        >
          <PlusIcon /> New generation
        </Link>
      </div>
      <nav aria-label="Main" className="mt-4 space-y-0.5 px-3">
        {nav.map(({ to, label, icon: Icon, end }) => (
          <NavLink
            key={to}
            to={to}
            end={end}
            className={({ isActive }) =>
              `flex items-center gap-3 rounded-lg px-3 py-2 text-sm font-medium ${
                isActive
                  ? "bg-zinc-200/70 text-zinc-900 dark:bg-zinc-800 dark:text-white"
                  : "text-zinc-700 hover:bg-zinc-200/50 dark:text-zinc-300 dark:hover:bg-zinc-800/60"
              }`
            }
          >
            <Icon className="text-base" /> {label}
          </NavLink>
        ))}
      </nav>
      <RecentConversations />
      <AccountFooter />
    </div>
  );
}

function RecentConversations() {
  const conversations = useConversations("");
  const items = conversations.data?.pages.flatMap((page) => page.items).slice(0, 15) ?? [];
  return (
    <section aria-labelledby="recent-heading" className="mt-6 min-h-0 flex-1 overflow-y-auto px-3">
      <h2 id="recent-heading" className="px-3 pb-1 text-xs font-semibold uppercase tracking-wide text-zinc-500">
        Recent
      </h2>
      {conversations.isPending ? (
        <div className="space-y-2 px-3 py-1">
          {[0, 1, 2, 3].map((i) => (
            <Skeleton key={i} className="h-4 w-full" />
          ))}
        </div>
      ) : items.length === 0 ? (
        <p className="px-3 py-1 text-sm text-zinc-500">Your conversations will appear here.</p>
      ) : (
        <ul className="space-y-0.5">
          {items.map((conversation) => (
            <li key={conversation.id}>
              <NavLink
                to={`/c/${conversation.id}`}
                className={({ isActive }) =>
                  `block truncate rounded-lg px-3 py-1.5 text-sm ${
                    isActive
                      ? "bg-zinc-200/70 text-zinc-900 dark:bg-zinc-800 dark:text-white"
                      : "text-zinc-600 hover:bg-zinc-200/50 dark:text-zinc-400 dark:hover:bg-zinc-800/60"
                  }`
                }
              >
                {conversation.title || "Untitled"}
              </NavLink>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function AccountFooter() {
  const me = useMe();
  const { signOut } = useAuth();
  const navigate = useNavigate();
  return (
    <div className="shrink-0 space-y-3 border-t border-zinc-200 p-3 dark:border-zinc-800">
      <ThemeSwitch />
      <button type="button" onClick={openShortcuts} className="w-full rounded-lg px-1 text-left text-xs text-zinc-500 hover:text-zinc-800 dark:hover:text-zinc-200">
        Keyboard shortcuts <kbd className="ml-1 rounded border border-zinc-300 px-1 font-mono dark:border-zinc-700">?</kbd>
      </button>
      <div className="flex items-center gap-2 px-1">
        <span className="grid size-8 shrink-0 place-items-center rounded-full bg-zinc-200 text-sm font-semibold uppercase text-zinc-700 dark:bg-zinc-800 dark:text-zinc-200">
          {me.data?.email.slice(0, 1) ?? "·"}
        </span>
        <span className="min-w-0 flex-1 truncate text-sm text-zinc-700 dark:text-zinc-300" title={me.data?.email}>
          {me.data?.email ?? "…"}
        </span>
        <button
          type="button"
          onClick={() => {
            signOut();
            navigate("/sign-in");
          }}
          className="rounded-lg p-2 text-zinc-600 hover:bg-zinc-200 dark:text-zinc-400 dark:hover:bg-zinc-800"
          aria-label="Sign out"
          title="Sign out"
        >
          <LogOutIcon />
        </button>
      </div>
    </div>
  );
}

const THEMES: { value: ThemeChoice; label: string; icon: (props: { className?: string }) => ReactNode }[] = [
  { value: "light", label: "Light", icon: SunIcon },
  { value: "system", label: "System", icon: MonitorIcon },
  { value: "dark", label: "Dark", icon: MoonIcon },
];

export function ThemeSwitch() {
  const [theme, setTheme] = useTheme();
  return (
    <div role="group" aria-label="Theme" className="grid grid-cols-3 gap-1 rounded-lg bg-zinc-200/60 p-1 dark:bg-zinc-800/70">
      {THEMES.map(({ value, label, icon: Icon }) => (
        <button
          key={value}
          type="button"
          aria-pressed={theme === value}
          onClick={() => setTheme(value)}
          className={`flex items-center justify-center gap-1.5 rounded-md py-1 text-xs font-medium ${
            theme === value
              ? "bg-white text-zinc-900 shadow-sm dark:bg-zinc-950 dark:text-white"
              : "text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-white"
          }`}
        >
          <Icon /> {label}
        </button>
      ))}
    </div>
  );
}
