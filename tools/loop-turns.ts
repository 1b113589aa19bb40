/**
 * Counts turns of the event loop (one `setImmediate` callback per turn) until stopped: a test's
 * evidence that sliced work yielded between its slices.
 *
 *   const loop = countLoopTurns()
 *   await slicedWork()
 *   loop.stop(); assert.ok(loop.turns() > 0)
 */
export function countLoopTurns(): { turns(): number; stop(): void } {
  let turns = 0;
  let counting = true;
  const tick = (): void => {
    if (!counting) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return { turns: () => turns, stop: () => void (counting = false) };
}
