/** A set of event listeners; a throwing listener never breaks the component that emits. */
export class Listeners<E> {
  private readonly set = new Set<(event: E) => void>()

  /** `onError` sees what a listener threw (default: ignored; the data path goes on). */
  constructor(private readonly onError?: (err: unknown) => void) {}

  /** Adds a listener and returns a function that removes it. */
  add(listener: (event: E) => void): () => void {
    this.set.add(listener)
    return () => this.set.delete(listener)
  }

  get size(): number {
    return this.set.size
  }

  emit(event: E): void {
    for (const l of this.set) {
      try {
        l(event)
      } catch (err) {
        this.onError?.(err)
      }
    }
  }
}
