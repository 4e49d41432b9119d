/** A small typed event emitter for the browser (the server uses node:events). */
export class Emitter<Events extends Record<string, unknown[]>> {
  // Listeners are stored untyped; on() and emit() keep them paired with their event's types.
  #listeners = new Map<keyof Events, Set<(...args: unknown[]) => void>>();

  on<E extends keyof Events>(event: E, fn: (...args: Events[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn as unknown as (...args: unknown[]) => void);
    return () => this.off(event, fn);
  }

  once<E extends keyof Events>(event: E, fn: (...args: Events[E]) => void): () => void {
    const off = this.on(event, (...args) => {
      off();
      fn(...args);
    });
    return off;
  }

  off<E extends keyof Events>(event: E, fn: (...args: Events[E]) => void): void {
    this.#listeners.get(event)?.delete(fn as unknown as (...args: unknown[]) => void);
  }

  protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) {
      try {
        fn(...args);
      } catch (err) {
        console.error(`listener for ${String(event)} failed`, err);
      }
    }
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
