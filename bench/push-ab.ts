// In-process A/B of the detection engine's main-thread work in a hunt (schedule replay: each
// routed event placed in its rules' runs, the runs fed): this build against a reference checkout,
// each build's engine over the same events (routed once per build, outside the timing), passes
// alternating in order. Prints each build's median CPU ms per pass and the ratio's median and range.
//
//   node --import tsx bench/push-ab.ts <built checkout A> <built checkout B> FILE [PASSES]
import path from 'node:path';
import { checkoutRulesAndEvents, NOW as now } from './checkout.js';

const [a, b, file, passesArg] = process.argv.slice(2);
if (!a || !b || !file) {
  console.error('usage: node --import tsx bench/push-ab.ts <built checkout A> <built checkout B> FILE [PASSES] (needs ../shared)');
  process.exit(2);
}
const passes = Number(passesArg ?? 10);

async function build(dir: string) {
  const { load, router, prepared, events } = await checkoutRulesAndEvents(dir, file!);
  const { DetectionEngine } = await load('detect/engine.js');
  const r = new router.RuleRouter(prepared);
  const routes = events.map((e) => [...(r.route(e) as number[])]);
  let alerts = 0;
  const pass = (): number => {
    alerts = 0;
    const c0 = process.cpuUsage();
    const engine = new DetectionEngine({ rules: prepared, mode: 'schedule', now, timestampField: '@timestamp', onWarning: () => {}, sink: (g: unknown[]) => (alerts += g.length) });
    for (let i = 0; i < events.length; i++) engine.push(events[i], events[i]!.time.ms, routes[i]);
    engine.finish();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
  return { name: path.basename(path.resolve(dir)), pass, alerts: () => alerts };
}

const builds = [await build(a), await build(b)];
for (const x of builds) x.pass();
const times: number[][] = [[], []];
for (let p = 0; p < passes; p++) {
  const order = p % 2 === 0 ? [0, 1] : [1, 0];
  for (const k of order) times[k]!.push(builds[k]!.pass());
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
const ratios = times[0]!.map((t, i) => t / times[1]![i]!);
for (let k = 0; k < 2; k++) console.log(`${builds[k]!.name}: median ${med(times[k]!).toFixed(0)} ms (${times[k]!.map((t) => t.toFixed(0)).join(' ')}), ${builds[k]!.alerts()} alerts`);
console.log(`ratio ${builds[0]!.name} / ${builds[1]!.name}: median ${med(ratios).toFixed(3)}, range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}`);
