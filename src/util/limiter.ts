/**
 * Runs at most `limit` tasks at once, in the order they were added. A task that rejects is
 * never lost: its caller gets the rejection from add(), and drain() rejects with every
 * rejection that happened, so a caller that only drains still sees each one.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly rejections: unknown[] = [];

  constructor(private readonly limit: number) {}

  add<T>(task: () => Promise<T>): Promise<T> {
    const run = async () => {
      if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
      this.active++;
      try {
        return await task();
      } finally {
        this.active--;
        this.waiting.shift()?.();
      }
    };
    const promise = run();
    this.pending.add(promise);
    // Recorded here, so a rejection the caller has not awaited yet is neither unhandled nor dropped.
    promise.then(
      () => this.pending.delete(promise),
      (error: unknown) => {
        this.pending.delete(promise);
        this.rejections.push(error);
      },
    );
    return promise;
  }

  /** Resolves once every task added so far (and any they add) has settled; rejects if any of them rejected. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    if (this.rejections.length === 1) throw this.rejections[0];
    if (this.rejections.length > 1) throw new AggregateError(this.rejections, `${this.rejections.length} tasks failed`);
  }
}
