/** Runs at most `limit` tasks at once, in the order they were added. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly pending = new Set<Promise<unknown>>();

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
    void promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  /** Resolves once every task added so far (and any they add) has settled. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
