/** Tells other open tabs that a generation started in a conversation, so they fetch it and show it streaming
 * (they re-attach to the running generation like after a reload). BroadcastChannel: same origin only. */
import { useEffect } from "react";

const CHANNEL = "codesmith-generations";
// Other channel objects in this same tab hear a message too: the tab's id tells them to ignore it.
const TAB_ID = Math.random().toString(36).slice(2);

interface Started {
  type: "generation-started";
  conversationId: string;
  messageId: string;
  tab: string;
}

function channel(): BroadcastChannel | null {
  return typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel(CHANNEL);
}

export function announceGeneration(conversationId: string, messageId: string): void {
  const sender = channel();
  if (!sender) return;
  sender.postMessage({ type: "generation-started", conversationId, messageId, tab: TAB_ID } satisfies Started);
  sender.close();
}

/** Calls onStarted when another tab starts a generation in this conversation. */
export function useGenerationBroadcast(conversationId: string, onStarted: (messageId: string) => void): void {
  useEffect(() => {
    const receiver = channel();
    if (!receiver) return;
    receiver.onmessage = (event: MessageEvent<Started>) => {
      const data = event.data;
      if (data?.type === "generation-started" && data.tab !== TAB_ID && data.conversationId === conversationId) onStarted(data.messageId);
    };
    return () => receiver.close();
  }, [conversationId, onStarted]);
}
