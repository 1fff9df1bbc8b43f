/** Keeps the newest text of a streaming answer in view while the reader is at the bottom of the page.
 *
 * Following stops only when the reader scrolls up themselves (a wheel, key, touch drag or the scrollbar);
 * content that grows or shrinks never turns it off. `jump()` scrolls back down and follows again.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type RefObject } from "react";

/** How close to the bottom (px) still counts as "at the bottom" when the reader scrolls back down. */
export const AT_BOTTOM_PX = 48;
/** How long after the reader leaves the bottom a scroll that ends there cannot put following back on. */
const RETURN_AFTER_MS = 500;

export function distanceFromBottom(element: HTMLElement): number {
  return element.scrollHeight - element.scrollTop - element.clientHeight;
}

export interface FollowBottom {
  /** True while new content scrolls into view by itself. */
  following: boolean;
  /** Follow again (and scroll down now). */
  jump: () => void;
  /** Follow again without scrolling yet: the next growth scrolls. */
  stick: () => void;
}

export function useFollowBottom(content: RefObject<HTMLElement | null>, scrollerId = "main"): FollowBottom {
  const following = useRef(true);
  const [followingState, setFollowingState] = useState(true);
  const lastTop = useRef(0);

  const setFollowing = useCallback((value: boolean) => {
    following.current = value;
    setFollowingState(value);
  }, []);

  const scrollDown = useCallback(() => {
    const scroller = document.getElementById(scrollerId);
    if (!scroller) return;
    scroller.scrollTop = scroller.scrollHeight;
    lastTop.current = scroller.scrollTop;
  }, [scrollerId]);

  useEffect(() => {
    const scroller = document.getElementById(scrollerId);
    if (!scroller) return;
    lastTop.current = scroller.scrollTop;
    // Only the reader stops following: a wheel or key up, a touch drag, or the scrollbar. Content that
    // shrinks and grows again between two scroll events also moves the page up, and must not count.
    let intentUntil = 0;
    // After the reader moves up, a scroll event of an earlier programmatic scroll to the bottom can still be
    // on its way (scroll events fire a frame later): it must not put following back on.
    let leftAt = -Infinity;
    let dragging = false;
    const intends = () => dragging || performance.now() < intentUntil;
    const onScroll = () => {
      const top = scroller.scrollTop;
      const movedUp = top < lastTop.current - 1;
      lastTop.current = top;
      const distance = distanceFromBottom(scroller);
      if (movedUp) {
        // A smooth scroll's first frames are still near the bottom: moving up never counts as "back".
        if (following.current && intends() && distance > 1) leave();
      } else if (distance <= AT_BOTTOM_PX && !following.current && performance.now() - leftAt > RETURN_AFTER_MS) {
        setFollowing(true);
      }
    };
    const leave = () => {
      leftAt = performance.now();
      setFollowing(false);
    };
    const onWheel = (event: WheelEvent) => {
      if (event.deltaY < 0 && following.current && scroller.scrollHeight > scroller.clientHeight) leave();
    };
    const onTouch = () => {
      intentUntil = performance.now() + 1000;
    };
    const onPointerDown = (event: PointerEvent) => {
      dragging = event.target === scroller; // the scrollbar belongs to the scroller itself
    };
    const onPointerUp = () => {
      dragging = false;
      intentUntil = performance.now() + 300;
    };
    const onKey = (event: KeyboardEvent) => {
      if (["PageUp", "Home", "ArrowUp"].includes(event.key) || (event.key === " " && event.shiftKey)) {
        intentUntil = performance.now() + 1000;
      }
    };
    scroller.addEventListener("scroll", onScroll, { passive: true });
    scroller.addEventListener("wheel", onWheel, { passive: true });
    scroller.addEventListener("keydown", onKey);
    scroller.addEventListener("touchmove", onTouch, { passive: true });
    scroller.addEventListener("pointerdown", onPointerDown);
    window.addEventListener("pointerup", onPointerUp);
    return () => {
      scroller.removeEventListener("scroll", onScroll);
      scroller.removeEventListener("wheel", onWheel);
      scroller.removeEventListener("keydown", onKey);
      scroller.removeEventListener("touchmove", onTouch);
      scroller.removeEventListener("pointerdown", onPointerDown);
      window.removeEventListener("pointerup", onPointerUp);
    };
  }, [scrollerId, setFollowing]);

  useLayoutEffect(() => {
    const element = content.current;
    if (!element || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (following.current) scrollDown();
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [content, scrollDown]);

  const jump = useCallback(() => {
    setFollowing(true);
    scrollDown();
  }, [scrollDown, setFollowing]);

  const stick = useCallback(() => setFollowing(true), [setFollowing]);

  return { following: followingState, jump, stick };
}
