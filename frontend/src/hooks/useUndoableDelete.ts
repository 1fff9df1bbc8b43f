/** Deleting a conversation with Undo: it disappears at once, and the DELETE is sent only when the
 * toast expires (or the page is left). Undo brings it back without the server ever hearing of it. */
import { useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { useCallback } from "react";
import { api, unwrap } from "../api/client";
import { ApiError, errorMessage } from "../api/errors";
import { keys } from "../api/queries";
import type { ConversationSummary, Page } from "../api/types";
import { useToast } from "../components/Toast";

export function useUndoableDeleteConversation(): (conversation: { id: string; title?: string | null }) => void {
  const client = useQueryClient();
  const toast = useToast();

  return useCallback(
    (conversation) => {
      const { id } = conversation;
      client.setQueriesData<InfiniteData<Page<ConversationSummary>>>({ queryKey: ["conversations"] }, (data) =>
        data ? { ...data, pages: data.pages.map((page) => ({ ...page, items: page.items.filter((item) => item.id !== id) })) } : data,
      );
      const restore = () => void client.invalidateQueries({ queryKey: ["conversations"] });
      toast({
        message: `Deleted “${conversation.title || "Untitled"}”.`,
        actionLabel: "Undo",
        onAction: restore,
        onExpire: () => {
          void unwrap(
            api.DELETE("/api/v1/conversations/{conversation_id}", {
              params: { path: { conversation_id: id } },
              keepalive: true, // still sent when the toast expires because the page is closing
            }),
          )
            .then(() => {
              client.removeQueries({ queryKey: keys.conversation(id) });
              void client.invalidateQueries({ queryKey: ["snippets"] });
            })
            .catch((error: unknown) => {
              if (!(error instanceof ApiError && error.status === 404)) {
                toast({ message: `Could not delete the conversation: ${errorMessage(error)}` });
              }
            })
            .finally(restore);
        },
      });
    },
    [client, toast],
  );
}
