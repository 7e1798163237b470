// V8's own answers about an object's layout, for tests of memory a start-up keeps: whether an
// object is in fast mode (its properties described by a shared hidden class) or a dictionary, and
// whether two objects share their hidden class. V8 gives these to code parsed while its
// `--allow-natives-syntax` flag is on; it is on only while the two functions below are made.
import v8 from 'node:v8';

v8.setFlagsFromString('--allow-natives-syntax');
const hasFast = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
v8.setFlagsFromString('--no-allow-natives-syntax');

/** Whether V8 keeps `o` in fast mode (not a dictionary-mode object). */
export function hasFastProperties(o: object): boolean {
  return hasFast(o);
}

/** Whether `a` and `b` share one hidden class. */
export function haveSameMap(a: object, b: object): boolean {
  return sameMap(a, b);
}
