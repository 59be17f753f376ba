/**
 * The demo's status line, read from the collector's Prometheus metrics: flows by state and alerts firing.
 */
export interface DemoStatus {
  flows: Record<string, number>;
  alertsFiring: number;
}

export async function readStatus(collectorUrl: string): Promise<DemoStatus> {
  const response = await fetch(`${collectorUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  return parseStatus(await response.text());
}

export function parseStatus(metrics: string): DemoStatus {
  const flows: Record<string, number> = {};
  let alertsFiring = 0;
  for (const line of metrics.split('\n')) {
    const flow = /^choreoscope_flows\{state="(\w+)"\} (\d+)/.exec(line);
    if (flow) flows[flow[1]!] = Number(flow[2]);
    const alert = /^choreoscope_alerts_firing\{[^}]*\} (\d+)/.exec(line);
    if (alert) alertsFiring += Number(alert[1]);
  }
  return { flows, alertsFiring };
}

export function formatStatus(status: DemoStatus): string {
  const states = ['completed', 'compensated', 'running', 'late', 'stalled', 'failed'];
  const flows = states.map((state) => `${status.flows[state] ?? 0} ${state}`).join(', ');
  return `flows: ${flows} · alerts firing: ${status.alertsFiring}`;
}
