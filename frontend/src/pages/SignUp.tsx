import { useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { ApiError, errorMessage } from "../api/errors";
import { Alert, Button, Field } from "../components/ui";
import { safeNextPath, useAuth } from "../lib/auth";
import { AuthShell } from "./AuthShell";

const MIN_PASSWORD = 8;

export default function SignUp() {
  const { token, signUp, signIn } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [openaiKey, setOpenaiKey] = useState("");
  const [showKey, setShowKey] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);

  if (token && !busy) return <Navigate to={safeNextPath(params.get("next"))} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signUp(email.trim(), password, openaiKey);
      await signIn(email.trim(), password);
      const next = params.get("next");
      navigate(next ? safeNextPath(next) : "/new", { replace: true });
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(errorMessage(caught)));
      setBusy(false);
    }
  }

  const apiError = error instanceof ApiError ? error : null;
  const emailTaken = apiError?.code === "email_taken";
  const tooShort = password.length > 0 && password.length < MIN_PASSWORD;

  return (
    <AuthShell
      title="Create your account"
      subtitle="Plain-language descriptions in, working code out."
      footer={
        <>
          Already have an account?{" "}
          <Link to="/sign-in" className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
            Sign in
          </Link>
        </>
      }
    >
      <form onSubmit={submit} className="space-y-4" noValidate>
        {error && !emailTaken && !apiError?.fieldError("password") && !apiError?.fieldError("email") ? (
          <Alert title="Could not create the account">{errorMessage(error)}</Alert>
        ) : null}
        <Field
          label="Email"
          type="email"
          autoComplete="email"
          required
          autoFocus
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={
            emailTaken
              ? "An account with this email already exists."
              : apiError?.fieldError("email")
                ? "Enter a valid email address, like name@example.com."
                : undefined
          }
        />
        {emailTaken ? (
          <p className="-mt-2 text-xs">
            <Link to={`/sign-in${params.get("next") ? `?next=${encodeURIComponent(params.get("next") ?? "")}` : ""}`} className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
              Sign in instead
            </Link>
          </p>
        ) : null}
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          minLength={MIN_PASSWORD}
          maxLength={128}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          hint={`At least ${MIN_PASSWORD} characters.`}
          error={tooShort ? `${MIN_PASSWORD - password.length} more character${MIN_PASSWORD - password.length === 1 ? "" : "s"} needed.` : apiError?.fieldError("password")}
        />
        {showKey ? (
          <Field
            label="OpenAI API key (optional)"
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder="sk-…"
            value={openaiKey}
            onChange={(e) => setOpenaiKey(e.target.value)}
            hint="Used for OpenAI models. Stored encrypted, never shown again; you can change it in Settings."
            error={apiError?.fieldError("openai_api_key")}
          />
        ) : (
          <button type="button" onClick={() => setShowKey(true)} className="text-sm font-medium text-indigo-600 hover:underline dark:text-indigo-400">
            + Add your OpenAI API key (optional)
          </button>
        )}
        <Button type="submit" variant="primary" className="w-full" busy={busy} disabled={!email || password.length < MIN_PASSWORD}>
          Create account
        </Button>
      </form>
    </AuthShell>
  );
}
