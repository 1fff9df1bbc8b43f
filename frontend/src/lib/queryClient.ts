/** The one QueryClient: shared by React and by the generation streams that update its cache. */
import { QueryClient } from "@tanstack/react-query";
import { isApiError } from "../api/errors";

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      // Client errors (404, 401, 422) will not get better by asking again.
      retry: (failures, error) => !(isApiError(error) && error.status < 500) && failures < 2,
    },
    mutations: { retry: false },
  },
});
