import { useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { ApiError, errorMessage } from "../api/errors";
import { Alert, Button, Field } from "../components/ui";
import { safeNextPath, useAuth } from "../lib/auth";
import { getSignOutReason } from "../lib/authStore";
import { AuthShell } from "./AuthShell";

export function signInError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "invalid_credentials") return "That email and password do not match an account.";
    if (error.code === "account_disabled") return "This account is disabled. Ask an administrator of this Codesmith to enable it.";
    if (error.code === "rate_limited") {
      const minutes = error.retryAfter ? Math.max(1, Math.ceil(error.retryAfter / 60)) : null;
      return `Too many attempts. Try again${minutes ? ` in ${minutes} minute${minutes === 1 ? "" : "s"}` : " later"}.`;
    }
  }
  return errorMessage(error);
}

export default function SignIn() {
  const { token, signIn } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const next = safeNextPath(params.get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Read once: the reason belongs to the session that just ended, not to later visits.
  const [reason] = useState(getSignOutReason);

  if (token && !busy) return <Navigate to={next} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email.trim(), password);
      navigate(next, { replace: true });
    } catch (caught) {
      setError(signInError(caught));
      setBusy(false);
    }
  }

  return (
    <AuthShell
      title="Sign in to Codesmith"
      subtitle={params.get("next") ? "Your session ended. Sign in to pick up where you left off." : "Describe it. Get working code."}
      footer={
        <>
          New here?{" "}
          <Link to={`/sign-up${params.get("next") ? `?next=${encodeURIComponent(next)}` : ""}`} className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
            Create an account
          </Link>
        </>
      }
    >
      <form onSubmit={submit} className="space-y-4" noValidate>
        {error ? <Alert title="Could not sign in">{error}</Alert> : null}
        {!error && reason === "account_deleted" ? (
          <Alert tone="indigo" title="Your account was deleted">
            Everything you kept here is gone. You can create a new account with the same email at any time.
          </Alert>
        ) : null}
        {!error && reason === "account_disabled" ? (
          <Alert tone="amber" title="Your account was disabled">
            An administrator disabled this account, which signed you out. Ask them to enable it again.
          </Alert>
        ) : null}
        <Field label="Email" type="email" autoComplete="email" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />
        <Field label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <Button type="submit" variant="primary" className="w-full" busy={busy} disabled={!email || !password}>
          Sign in
        </Button>
      </form>
    </AuthShell>
  );
}
