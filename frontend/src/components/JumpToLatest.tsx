/** The ↓ button that brings a reader who scrolled up back to the newest text (and follows it again). */
export function JumpToLatest({ visible, onJump }: { visible: boolean; onJump: () => void }) {
  if (!visible) return null;
  return (
    <div className="pointer-events-none absolute inset-x-0 -top-14 flex justify-center">
      <button
        type="button"
        onClick={onJump}
        aria-label="Jump to latest"
        title="Jump to latest"
        className="pointer-events-auto grid size-10 place-items-center rounded-full border border-zinc-200 bg-white text-lg text-zinc-700 shadow-md hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-200 dark:hover:bg-zinc-800"
      >
        <span aria-hidden="true">↓</span>
      </button>
    </div>
  );
}
