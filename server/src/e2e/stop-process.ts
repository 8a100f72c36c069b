/** True while a process (or, with `group`, any process of its group) exists. */
function alive(pid: number, group: boolean): boolean {
  try {
    process.kill(group ? -pid : pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a process this test run started, by its PID: SIGTERM, then SIGKILL if it is still there
 * after `graceMs`. With `group`, the signal goes to its process group (a browser and the content,
 * GPU and network processes it started, which were spawned detached for this reason).
 */
export async function stopProcess(pid: number | undefined, { group = false, graceMs = 5_000 } = {}): Promise<void> {
  if (pid === undefined || !alive(pid, group)) return;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(group ? -pid : pid, name);
    } catch {
      // gone in between
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid, group) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive(pid, group)) signal('SIGKILL');
}

/** Runs `step` and gives up on it after `ms`, so that one hung close cannot stop the rest of a teardown. */
export async function within<T>(ms: number, step: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([step.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
