interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

/**
 * A promise another request may have made (a shared read), as one made in the caller's own request:
 * the caller's continuation then runs in its own request, where it may build its answer. Awaiting
 * the other request's pending promise directly would run it in that request ("Cannot perform I/O on
 * behalf of a different request").
 */
export function inOwnRequest<T>(shared: Promise<T>): Promise<T> {
  const own = resolvers<T>();
  shared.then(own.resolve, own.reject);
  return own.promise;
}

/** A promise made here, in the caller's request, with its resolve and reject. */
function resolvers<T>(): Resolvers<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}
