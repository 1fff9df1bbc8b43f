/** Query keys and the data hooks of every page, over the typed client. */
import {
  keepPreviousData,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { api, unwrap } from "./client";
import type { AdminUserUpdate, Conversation, Message, Model, ModelCreate, ModelUpdate, Page, RegistrationMode, UserLimitsUpdate } from "./types";

export const keys = {
  me: ["me"] as const,
  models: ["models"] as const,
  conversations: (q: string) => ["conversations", q] as const,
  conversation: (id: string) => ["conversation", id] as const,
  snippets: (q: string, language: string) => ["snippets", q, language] as const,
  usage: (days: number) => ["usage", days] as const,
  apiTokens: ["api-tokens"] as const,
  openaiModels: ["openai-models"] as const,
  adminUsers: (q: string) => ["admin", "users", q] as const,
  userLimits: (id: string) => ["admin", "limits", id] as const,
  audit: (action: string) => ["admin", "audit", action] as const,
  registration: ["admin", "registration"] as const,
  invitations: ["admin", "invitations"] as const,
};

const PAGE_SIZE = 20;

export function useMe(enabled = true) {
  return useQuery({ queryKey: keys.me, queryFn: () => unwrap(api.GET("/api/v1/users/me")), enabled });
}

export function useModels() {
  return useQuery({
    queryKey: keys.models,
    queryFn: async () => {
      // Users have few models; collect every page so pickers see them all.
      const all: Model[] = [];
      let cursor: string | null = null;
      do {
        const page: Page<Model> = await unwrap(
          api.GET("/api/v1/models", { params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } } }),
        );
        all.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      return all;
    },
  });
}

export function useConversations(q: string) {
  return useInfiniteQuery({
    queryKey: keys.conversations(q),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/conversations", {
          params: { query: { limit: PAGE_SIZE, ...(q ? { q } : {}), ...(pageParam ? { cursor: pageParam } : {}) } },
          signal,
        }),
      ),
    getNextPageParam: (last) => last.next_cursor,
    placeholderData: keepPreviousData,
  });
}

export function useSnippets(q: string, language: string) {
  return useInfiniteQuery({
    queryKey: keys.snippets(q, language),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/snippets", {
          params: {
            query: {
              limit: PAGE_SIZE,
              ...(q ? { q } : {}),
              ...(language ? { language } : {}),
              ...(pageParam ? { cursor: pageParam } : {}),
            },
          },
          signal,
        }),
      ),
    getNextPageParam: (last) => last.next_cursor,
    placeholderData: keepPreviousData,
  });
}

export function useConversation(id: string) {
  return useQuery({
    queryKey: keys.conversation(id),
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/conversations/{conversation_id}", { params: { path: { conversation_id: id } }, signal })),
  });
}

export function fetchConversation(id: string): Promise<Conversation> {
  return unwrap(api.GET("/api/v1/conversations/{conversation_id}", { params: { path: { conversation_id: id } } }));
}

export function useDeleteConversation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/conversations/{conversation_id}", { params: { path: { conversation_id: id } } })),
    onSuccess: (_data, id) => {
      client.removeQueries({ queryKey: keys.conversation(id) });
      void client.invalidateQueries({ queryKey: ["conversations"] });
      void client.invalidateQueries({ queryKey: ["snippets"] });
    },
  });
}

export function useRenameConversation(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (title: string) =>
      unwrap(api.PATCH("/api/v1/conversations/{conversation_id}", { params: { path: { conversation_id: id } }, body: { title } })),
    onSuccess: (updated) => {
      client.setQueryData<Conversation>(keys.conversation(id), (old) => (old ? { ...old, title: updated.title } : old));
      void client.invalidateQueries({ queryKey: ["conversations"] });
    },
  });
}

export function useCancelMessage() {
  return useMutation({
    mutationFn: ({ conversationId, messageId }: { conversationId: string; messageId: string }): Promise<Message> =>
      unwrap(
        api.POST("/api/v1/conversations/{conversation_id}/messages/{message_id}/cancel", {
          params: { path: { conversation_id: conversationId, message_id: messageId } },
        }),
      ),
  });
}

export function useCreateModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ModelCreate) => unwrap(api.POST("/api/v1/models", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.models }),
  });
}

export function useUpdateModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: ModelUpdate }) =>
      unwrap(api.PATCH("/api/v1/models/{model_id}", { params: { path: { model_id: id } }, body })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.models }),
  });
}

export function useDeleteModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/models/{model_id}", { params: { path: { model_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.models }),
  });
}

export function useCheckModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.POST("/api/v1/models/{model_id}/check", { params: { path: { model_id: id } } })),
    onSettled: () => client.invalidateQueries({ queryKey: keys.models }),
  });
}

export function useUsage(days: number) {
  return useQuery({
    queryKey: keys.usage(days),
    queryFn: () => unwrap(api.GET("/api/v1/usage", { params: { query: { days } } })),
    placeholderData: keepPreviousData,
  });
}

export function useApiTokens() {
  return useQuery({
    queryKey: keys.apiTokens,
    queryFn: () => unwrap(api.GET("/api/v1/users/me/api-tokens", { params: { query: { limit: 100 } } })),
  });
}

/** The models under their ids for OpenAI clients (`GET /v1/models`: the same models, readable ids). */
export function useOpenAIModels() {
  return useQuery({ queryKey: keys.openaiModels, queryFn: () => unwrap(api.GET("/v1/models")) });
}

// ---- Administrators ------------------------------------------------------------------------------

export function useAdminUsers(q: string) {
  return useInfiniteQuery({
    queryKey: keys.adminUsers(q),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/admin/users", {
          params: { query: { limit: PAGE_SIZE, ...(q ? { q } : {}), ...(pageParam ? { cursor: pageParam } : {}) } },
          signal,
        }),
      ),
    getNextPageParam: (last) => last.next_cursor,
    placeholderData: keepPreviousData,
  });
}

export function useUpdateAdminUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: AdminUserUpdate }) =>
      unwrap(api.PATCH("/api/v1/admin/users/{user_id}", { params: { path: { user_id: id } }, body })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["admin"] });
      // The administrator may have changed their own role.
      void client.invalidateQueries({ queryKey: keys.me });
    },
  });
}

/** A user's request and token limits (the server's defaults where they have none of their own). */
export function useUserLimits(id: string | null) {
  return useQuery({
    queryKey: keys.userLimits(id ?? ""),
    enabled: id !== null,
    queryFn: () => unwrap(api.GET("/api/v1/admin/users/{user_id}/limits", { params: { path: { user_id: id ?? "" } } })),
  });
}

export function useSetUserLimits() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: UserLimitsUpdate }) =>
      unwrap(api.PUT("/api/v1/admin/users/{user_id}/limits", { params: { path: { user_id: id } }, body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["admin"] }),
  });
}

export function useAuditLog(action: string) {
  return useInfiniteQuery({
    queryKey: keys.audit(action),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/admin/audit", {
          params: { query: { limit: PAGE_SIZE, ...(action ? { action } : {}), ...(pageParam ? { cursor: pageParam } : {}) } },
          signal,
        }),
      ),
    getNextPageParam: (last) => last.next_cursor,
    placeholderData: keepPreviousData,
  });
}

export function useRegistrationSettings() {
  return useQuery({ queryKey: keys.registration, queryFn: () => unwrap(api.GET("/api/v1/admin/registration")) });
}

export function useSetRegistrationMode() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (mode: RegistrationMode) => unwrap(api.PUT("/api/v1/admin/registration", { body: { mode } })),
    onSuccess: (settings) => {
      client.setQueryData(keys.registration, settings);
      void client.invalidateQueries({ queryKey: ["admin", "audit"] });
    },
  });
}

export function useInvitations() {
  return useInfiniteQuery({
    queryKey: keys.invitations,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/admin/invitations", {
          params: { query: { limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) } },
          signal,
        }),
      ),
    getNextPageParam: (last) => last.next_cursor,
  });
}

export function useCreateInvitation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { email?: string; expires_in_days: number }) => unwrap(api.POST("/api/v1/admin/invitations", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["admin"] }),
  });
}

export function useRevokeInvitation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/admin/invitations/{invitation_id}", { params: { path: { invitation_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["admin"] }),
  });
}
