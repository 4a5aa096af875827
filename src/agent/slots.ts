// A counting semaphore whose size can change live (the `concurrency` config).
export class Slots {
  #used = 0;
  #waiters: (() => void)[] = [];

  constructor(private limit: number) {}

  setLimit(limit: number): void {
    this.limit = limit;
    this.#wake();
  }

  get used(): number {
    return this.#used;
  }

  /** Resolves when a slot is taken; rejects when `signal` aborts first. */
  async acquire(signal: AbortSignal): Promise<void> {
    while (this.#used >= this.limit) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.#waiters.push(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
    signal.throwIfAborted();
    this.#used++;
  }

  release(): void {
    this.#used = Math.max(0, this.#used - 1);
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}
