// Stops a process started by an earlier command (a broker, a registry left running for a test run):
// SIGTERM, then SIGKILL if it is still there after `graceMs`.
export async function stopPid(pid: number, graceMs = 15_000): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return; // gone
  }
  for (const end = Date.now() + graceMs; Date.now() < end;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(pid, "SIGKILL");
}
