// @ts-check
// One recompute per frame, the last state winning: a burst of keystrokes or attribute changes asks
// many times; the work runs at most once per animation frame and never twice at once, and when it
// runs it reads the state as it is then, so nothing asked for is lost and nothing stale is drawn.

export class FrameScheduler {
  /**
   * @param {(callback: () => void) => void} frame when the next frame starts (requestAnimationFrame)
   * @param {() => Promise<void>} run the recompute; it reads the current state itself
   */
  constructor(frame, run) {
    this.frame = frame;
    this.run = run;
    this.waiting = false;
    /** @type {Promise<void> | null} */
    this.running = null;
    this.again = false;
    /** Times asked, and times the work ran. */
    this.asked = 0;
    this.ran = 0;
    /** @type {(() => void)[]} */
    this.idle = [];
  }

  /** Asks for a recompute at the next frame (one, however often it is asked before then). */
  request() {
    this.asked += 1;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.waiting) return;
    this.waiting = true;
    this.frame(() => this.tick());
  }

  tick() {
    this.waiting = false;
    this.ran += 1;
    this.running = this.run().catch(() => {}).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.waiting = true;
        this.frame(() => this.tick());
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
