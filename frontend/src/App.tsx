/** Providers and routes. Every page is its own chunk, so the first load carries only the shell. */
import { QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, type ReactNode } from "react";
import { BrowserRouter, Navigate, Route, Routes, useLocation } from "react-router";
import { Layout } from "./components/Layout";
import { PageSkeleton } from "./components/PageSkeleton";
import { AuthProvider, useAuth } from "./lib/auth";
import { wasSignedOutOnPurpose } from "./lib/authStore";
import { queryClient } from "./lib/queryClient";

const SignIn = lazy(() => import("./pages/SignIn"));
const SignUp = lazy(() => import("./pages/SignUp"));
const Home = lazy(() => import("./pages/Home"));
const NewGeneration = lazy(() => import("./pages/NewGeneration"));
const Conversation = lazy(() => import("./pages/Conversation"));
const Models = lazy(() => import("./pages/Models"));
const Settings = lazy(() => import("./pages/Settings"));
const Usage = lazy(() => import("./pages/Usage"));
const NotFound = lazy(() => import("./pages/NotFound"));
// The admin console is its own set of chunks: most people never load it.
const Admin = lazy(() => import("./pages/admin/Admin"));
const AdminUsers = lazy(() => import("./pages/admin/Users"));
const AdminAudit = lazy(() => import("./pages/admin/Audit"));
const AdminRegistration = lazy(() => import("./pages/admin/Registration"));

/** Signed-out visitors go to sign-in, which brings them back here afterwards. */
function RequireAuth({ children }: { children: ReactNode }) {
  const { token } = useAuth();
  const location = useLocation();
  if (!token) {
    const next = location.pathname + location.search + location.hash;
    const query = next === "/" || wasSignedOutOnPurpose() ? "" : `?next=${encodeURIComponent(next)}`;
    return <Navigate to={`/sign-in${query}`} replace />;
  }
  return children;
}

export function AppRoutes() {
  return (
    <Suspense fallback={<PageSkeleton />}>
      <Routes>
        <Route path="/sign-in" element={<SignIn />} />
        <Route path="/sign-up" element={<SignUp />} />
        <Route
          element={
            <RequireAuth>
              <Layout />
            </RequireAuth>
          }
        >
          <Route index element={<Home />} />
          <Route path="new" element={<NewGeneration />} />
          <Route path="c/:conversationId" element={<Conversation />} />
          <Route path="models" element={<Models />} />
          <Route path="settings" element={<Settings />} />
          <Route path="usage" element={<Usage />} />
          <Route path="admin" element={<Admin />}>
            <Route index element={<AdminUsers />} />
            <Route path="audit" element={<AdminAudit />} />
            <Route path="registration" element={<AdminRegistration />} />
          </Route>
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </Suspense>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <BrowserRouter>
          <AppRoutes />
        </BrowserRouter>
      </AuthProvider>
    </QueryClientProvider>
  );
}
