/** Seconds since the last lap (or since made), to the millisecond: steps timed one after another. */
export class StepClock {
  private last = performance.now();

  lap(): number {
    const now = performance.now();
    const seconds = Math.round(now - this.last) / 1000;
    this.last = now;
    return seconds;
  }
}
