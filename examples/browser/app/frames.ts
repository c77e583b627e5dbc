/**
 * How responsive the page is: animation frames (count and longest gap) and the main thread's task lag (how
 * late a 50 ms timer fires, at worst). A frame needs the main thread and the GPU process; a timer only the
 * main thread, so the two together tell a blocked page from a busy GPU process.
 */
export interface FrameMonitor {
  read(): { count: number; maxGapMs: number; maxGapAtMs: number; maxTaskLagMs: number };
  reset(): void;
  /** Shows the current figures in `el` once a second. */
  show(el: HTMLElement): void;
}

// The timer period of the task-lag probe.
const PROBE_MS = 50;

/** Starts a requestAnimationFrame loop and a timer probe that run for the page's lifetime. */
export function frameMonitor(): FrameMonitor {
  let count = 0;
  let maxGap = 0;
  let maxGapAt = 0;
  let maxLag = 0;
  let last: number | null = null;
  let since = performance.now();
  const tick = (now: number) => {
    if (last !== null && now - last > maxGap) [maxGap, maxGapAt] = [now - last, now - since];
    last = now;
    count++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const probe = () => {
    const due = performance.now() + PROBE_MS;
    setTimeout(() => {
      maxLag = Math.max(maxLag, performance.now() - due);
      probe();
    }, PROBE_MS);
  };
  probe();
  return {
    read: () => ({ count, maxGapMs: maxGap, maxGapAtMs: maxGapAt, maxTaskLagMs: maxLag }),
    reset: () => {
      [count, maxGap, maxLag] = [0, 0, 0];
      last = null;
      since = performance.now();
    },
    show: (el) =>
      void setInterval(() => (el.textContent = `page: ${count} frames, longest gap ${maxGap.toFixed(0)} ms`), 1000),
  };
}
