/** Counts animation frames and the longest gap between two: how responsive the page's main thread is. */
export interface FrameMonitor {
  read(): { count: number; maxGapMs: number; maxGapAtMs: number };
  reset(): void;
  /** Shows the current figures in `el` once a second. */
  show(el: HTMLElement): void;
}

/** Starts a requestAnimationFrame loop that runs for the page's lifetime. */
export function frameMonitor(): FrameMonitor {
  let count = 0;
  let maxGap = 0;
  let maxGapAt = 0;
  let last: number | null = null;
  let since = performance.now();
  const tick = (now: number) => {
    if (last !== null && now - last > maxGap) [maxGap, maxGapAt] = [now - last, now - since];
    last = now;
    count++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return {
    read: () => ({ count, maxGapMs: maxGap, maxGapAtMs: maxGapAt }),
    reset: () => {
      count = 0;
      maxGap = 0;
      last = null;
      since = performance.now();
    },
    show: (el) =>
      void setInterval(() => (el.textContent = `page: ${count} frames, longest gap ${maxGap.toFixed(0)} ms`), 1000),
  };
}
