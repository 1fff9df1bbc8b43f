import { useEffect, useRef } from "react";

/** Calls `loadMore` when the returned sentinel element scrolls into view (with a margin). */
export function useInfiniteScroll<T extends Element>(loadMore: () => void, enabled: boolean) {
  const ref = useRef<T>(null);
  const callback = useRef(loadMore);
  callback.current = loadMore;

  useEffect(() => {
    const element = ref.current;
    if (!element || !enabled || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) callback.current();
      },
      { rootMargin: "400px 0px" },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [enabled]);

  return ref;
}
