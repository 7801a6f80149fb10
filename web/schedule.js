// @ts-check
// One recompute per frame, the last state winning. A change starts its recompute at once (after
// the task that made it, so a burst of changes in one script is one recompute), unless one already
// started in this animation frame: then it waits for the next frame. A change made while a
// recompute runs is computed when it ends, from the state as it is then, so nothing asked for is
// lost, nothing stale is drawn, and two never run at once.

export class FrameScheduler {
  /**
   * @param {(callback: () => void) => void} frame when the next frame starts (requestAnimationFrame)
   * @param {() => Promise<void>} run the recompute; it reads the current state itself
   * @param {(callback: () => void) => void} [soon] after the current task (queueMicrotask)
   */
  constructor(frame, run, soon = (cb) => queueMicrotask(cb)) {
    this.frame = frame;
    this.run = run;
    this.soon = soon;
    this.waiting = false;
    /** @type {Promise<void> | null} */
    this.running = null;
    this.again = false;
    /** Whether a recompute started in the current frame. */
    this.frameUsed = false;
    /** Times asked, and times the work ran. */
    this.asked = 0;
    this.ran = 0;
    /**
     * When the oldest change not yet computed was asked for (`performance.now()` time, or the
     * `now` given), so a recompute's time can be counted from the change that asked for it.
     * @type {number | null}
     */
    this.askedAt = null;
    /** The `askedAt` of the recompute running now. */
    this.runFor = /** @type {number | null} */ (null);
    /** @type {(() => void)[]} */
    this.idle = [];
  }

  /** Asks for a recompute (one, however often it is asked before it starts). */
  request(now = typeof performance === 'undefined' ? 0 : performance.now()) {
    this.asked += 1;
    this.askedAt ??= now;
    if (this.running) {
      this.again = true;
      return;
    }
    if (!this.waiting) this.start();
  }

  /** Queues the next run: after this task, or at the next frame when this one had its run. */
  start() {
    this.waiting = true;
    if (this.frameUsed) this.frame(() => this.tick());
    else this.soon(() => this.tick());
  }

  tick() {
    this.waiting = false;
    if (!this.frameUsed) {
      this.frameUsed = true;
      this.frame(() => { this.frameUsed = false; });
    }
    this.ran += 1;
    this.runFor = this.askedAt;
    this.askedAt = null;
    this.running = this.run().catch(() => {}).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.start();
      } else {
        this.idle.splice(0).forEach((ok) => ok());
      }
    });
  }

  /** Resolves once nothing is asked for or running. */
  settled() {
    if (!this.waiting && !this.running) return Promise.resolve();
    return new Promise((ok) => this.idle.push(() => ok(undefined)));
  }
}
