/**
 * A bounded read-ahead async iterator: items 0..count-1 are produced by
 * `make(i)` on macrotasks (setImmediate) while the consumer awaits, at most
 * `depth` items ahead of the one being consumed. Memory stays bounded by
 * `depth + 1` items; breaking out of the loop cancels what is scheduled.
 */
export const prefetch = <T>(count: number, depth: number, make: (i: number) => T): AsyncIterableIterator<T> => {
  const pending: Array<{ readonly promise: Promise<T>; readonly handle: NodeJS.Immediate }> = []
  let scheduled = 0
  let consumed = 0
  let closed = false
  const fill = () => {
    while (!closed && scheduled < count && pending.length < Math.max(1, depth)) {
      const i = scheduled++
      let handle!: NodeJS.Immediate
      const promise = new Promise<T>((resolve, reject) => {
        handle = setImmediate(() => {
          try {
            resolve(make(i))
          } catch (e) {
            reject(e)
          }
        })
      })
      promise.catch(() => undefined) // observed when consumed; avoid unhandled rejections after close
      pending.push({ promise, handle })
    }
  }
  const close = () => {
    closed = true
    for (const p of pending) clearImmediate(p.handle)
    pending.length = 0
  }
  const it: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]: () => it,
    next: async () => {
      if (closed || consumed >= count) {
        close()
        return { done: true, value: undefined }
      }
      fill()
      const head = pending.shift() as { readonly promise: Promise<T> }
      fill() // keep `depth` items in flight while the consumer works on this one
      try {
        const value = await head.promise
        consumed++
        return { done: false, value }
      } catch (e) {
        close()
        throw e
      }
    },
    return: async () => {
      close()
      return { done: true, value: undefined }
    },
  }
  return it
}
