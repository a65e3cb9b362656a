/**
 * Fault injection for tests: a proxy that delegates every call to the real object, except that
 * the next `times` calls of one method throw. Nothing is simulated: the real store or storage does
 * all the work that is not failed.
 */
export interface FaultSwitch {
  /** Makes the next `times` calls of `method` throw `message`. */
  fail(method: string, times?: number, message?: string): void;
  /** Lets every call through again. */
  clear(): void;
}

export function withFaults<T extends object>(target: T): { proxy: T; faults: FaultSwitch } {
  const pending = new Map<string, { left: number; message: string }>();
  const proxy = new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const fault = pending.get(String(prop));
        if (fault && fault.left > 0) {
          fault.left--;
          return Promise.reject(new Error(fault.message));
        }
        return (value as (...a: unknown[]) => unknown).apply(obj, args);
      };
    },
  });
  return {
    proxy,
    faults: {
      fail(method, times = 1, message = `injected fault in ${method}`) {
        pending.set(method, { left: times, message });
      },
      clear() {
        pending.clear();
      },
    },
  };
}
