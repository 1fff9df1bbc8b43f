/** Sign-up, as the instance's registration mode allows: open, by invitation link, or closed. */
import { useEffect, useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { api, unwrap } from "../api/client";
import { ApiError, errorMessage } from "../api/errors";
import type { RegistrationMode } from "../api/types";
import { Alert, Button, Field } from "../components/ui";
import { safeNextPath, useAuth } from "../lib/auth";
import { AuthShell } from "./AuthShell";

const MIN_PASSWORD = 8;

/**
 * The instance's registration mode (`GET /auth/registration`), null while asking. Kept out of the query cache:
 * signing out clears that cache, which would strand a request in flight on this signed-out page.
 */
function useRegistrationMode(): RegistrationMode | null {
  const [mode, setMode] = useState<RegistrationMode | null>(null);
  useEffect(() => {
    let live = true;
    unwrap(api.GET("/api/v1/auth/registration"))
      .then((answer) => live && setMode(answer.mode))
      // An older server without the route, or no answer: try as if open; the server decides anyway.
      .catch(() => live && setMode("open"));
    return () => {
      live = false;
    };
  }, []);
  return mode;
}

/** What a refused registration means to the visitor. */
export function registrationRefusal(code: string | undefined): string | null {
  if (code === "registration_closed") return "This Codesmith does not accept new accounts right now. Ask its administrator.";
  if (code === "invitation_invalid")
    return "This invitation is not valid: it may have expired, been revoked or used already, or be meant for another email address. Ask for a new one.";
  return null;
}

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
  const invitation = params.get("invitation")?.trim() ?? "";
  const mode = useRegistrationMode();

  if (token && !busy) return <Navigate to={safeNextPath(params.get("next"))} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signUp(email.trim(), password, openaiKey, invitation || undefined);
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
  const refusal = registrationRefusal(apiError?.code);
  const footer = (
    <>
      Already have an account?{" "}
      <Link to="/sign-in" className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
        Sign in
      </Link>
    </>
  );

  if (mode === null) {
    return (
      <AuthShell title="Create your account" subtitle="Plain-language descriptions in, working code out." footer={footer}>
        <p role="status" className="text-sm text-zinc-500">
          Checking whether this Codesmith accepts new accounts…
        </p>
      </AuthShell>
    );
  }
  if (mode === "closed" || (mode === "invite" && !invitation)) {
    return (
      <AuthShell title="Create your account" subtitle="Plain-language descriptions in, working code out." footer={footer}>
        {mode === "closed" ? (
          <Alert tone="amber" title="Registration is closed">
            This Codesmith does not accept new accounts. Ask its administrator if you need one.
          </Alert>
        ) : (
          <Alert tone="amber" title="You need an invitation">
            New accounts here are by invitation only. Open the invitation link an administrator sent you.
          </Alert>
        )}
      </AuthShell>
    );
  }

  return (
    <AuthShell
      title="Create your account"
      subtitle={invitation ? "You were invited. Choose your email and password." : "Plain-language descriptions in, working code out."}
      footer={footer}
    >
      <form onSubmit={submit} className="space-y-4" noValidate>
        {refusal ? (
          <Alert title={apiError?.code === "registration_closed" ? "Registration is closed" : "This invitation does not work"}>{refusal}</Alert>
        ) : error && !emailTaken && !apiError?.fieldError("password") && !apiError?.fieldError("email") ? (
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
