// The benchmarks' wait for a service they started: GET /healthz every 200 ms until it answers 200
// (at most 2 minutes: a service that never comes up fails the run instead of hanging it).
export async function waitUp(url: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return;
    } catch {
      /* starting */
    }
    if (i > 600) throw new Error(`${url} did not start`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
