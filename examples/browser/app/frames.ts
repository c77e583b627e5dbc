/**
 * How responsive the page is: animation frames (count and longest gap), the main thread's longest task (from
 * the browser's long-task entries: how long one task held the thread) and its task lag (how late a 50 ms timer
 * fires, at worst). A frame needs the main thread and the GPU process; a task only the main thread. The task lag
 * also counts time the operating system gave to other processes, so on a loaded machine it measures the
 * machine; the longest task measures the page.
 */
export interface FrameMonitor {
  read(): { count: number; maxGapMs: number; maxGapAtMs: number; maxTaskMs: number; maxTaskLagMs: number };
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
  let maxTask = 0;
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
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) maxTask = Math.max(maxTask, entry.duration);
  }).observe({ type: 'longtask' });
  return {
    read: () => ({ count, maxGapMs: maxGap, maxGapAtMs: maxGapAt, maxTaskMs: maxTask, maxTaskLagMs: maxLag }),
    reset: () => {
      [count, maxGap, maxLag, maxTask] = [0, 0, 0, 0];
      last = null;
      since = performance.now();
    },
    show: (el) =>
      void setInterval(() => (el.textContent = `page: ${count} frames, longest gap ${maxGap.toFixed(0)} ms`), 1000),
  };
}
