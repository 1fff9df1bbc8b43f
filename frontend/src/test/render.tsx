import { QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import { MemoryRouter, useLocation } from "react-router";
import { AppRoutes } from "../App";
import { AuthProvider } from "../lib/auth";
import { setToken } from "../lib/authStore";
import { queryClient } from "../lib/queryClient";

export let currentLocation = "";

function LocationProbe() {
  const location = useLocation();
  currentLocation = location.pathname + location.search;
  return null;
}

/** The whole app at `path`, signed in unless `token` is null. */
export function renderApp(path: string, { token = "test-jwt" }: { token?: string | null } = {}) {
  queryClient.clear();
  setToken(token);
  return render(
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <MemoryRouter initialEntries={[path]}>
          <LocationProbe />
          <AppRoutes />
        </MemoryRouter>
      </AuthProvider>
    </QueryClientProvider>,
  );
}
