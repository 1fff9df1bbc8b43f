/**
 * Messages form a tree: a regeneration is a sibling of the answer it replaces, feedback is a child of
 * an answer. The view shows one path from the root, choosing one child at each fork.
 */
import type { Message } from "../api/types";

export const ROOT = "root";

export interface PathStep {
  message: Message;
  /** The message and its siblings, oldest first. */
  siblings: Message[];
  /** This message's position among its siblings (0-based). */
  index: number;
}

function byAge(a: Message, b: Message): number {
  return a.created_at.localeCompare(b.created_at);
}

export function childrenByParent(messages: Message[]): Map<string, Message[]> {
  const children = new Map<string, Message[]>();
  for (const message of messages) {
    const key = message.parent_id ?? ROOT;
    const list = children.get(key) ?? [];
    list.push(message);
    children.set(key, list);
  }
  // A stable sort keeps server order for equal timestamps.
  for (const list of children.values()) list.sort(byAge);
  return children;
}

/**
 * The path to show: at each fork the chosen child (`chosen[parentId]`), else the newest one, so a fresh
 * regeneration or feedback is what the user sees.
 */
export function visiblePath(messages: Message[], chosen: Record<string, string> = {}): PathStep[] {
  const children = childrenByParent(messages);
  const path: PathStep[] = [];
  const seen = new Set<string>();
  let parent = ROOT;
  for (;;) {
    const siblings = children.get(parent);
    if (!siblings?.length) return path;
    let index = siblings.findIndex((message) => message.id === chosen[parent]);
    if (index === -1) index = siblings.length - 1;
    const message = siblings[index]!;
    if (seen.has(message.id)) return path; // a cycle would be a server bug; never loop forever
    seen.add(message.id);
    path.push({ message, siblings, index });
    parent = message.id;
  }
}

/** The choices that make `messageId` visible (every ancestor chosen at its fork). */
export function chooseMessage(messages: Message[], messageId: string, chosen: Record<string, string>): Record<string, string> {
  const byId = new Map(messages.map((message) => [message.id, message]));
  const next = { ...chosen };
  let current = byId.get(messageId);
  const seen = new Set<string>();
  while (current && !seen.has(current.id)) {
    seen.add(current.id);
    next[current.parent_id ?? ROOT] = current.id;
    current = current.parent_id ? byId.get(current.parent_id) : undefined;
  }
  return next;
}
