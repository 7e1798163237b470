// eqlite's library API. Parse and compile a query once, then run it over any iterable or async
// stream of events already ordered by time (see `mergeOrdered`/`sortEvents` to order them).
export { parse, parseExpression, collectFields, formatExpr, formatStatement, EqlError } from './eql/index.js';
export type * from './eql/ast.js';
export { compile, type CompileOptions } from './engine/index.js';
export type { CompiledQuery, EngineOptions, QueryResult, QueryRun, EventResult, SequenceResult } from './engine/types.js';
export { getField, fieldAccessor } from './engine/fields.js';
export type { EventDoc, SourcePosition, SkippedItem } from './events/types.js';
export { readEvents, expandInputs, inferIndex } from './events/sources.js';
export { openInputs, type OpenOptions, type OpenedInput } from './events/inputs.js';
export { defaultThreads, openParallelInputs, type ParallelInput, type ParallelInputs, type ParallelOptions, type RouteSpec } from './parallel/pool.js';
export { mergeOrdered, sortEvents } from './events/order.js';
export { parseInstant, formatInstant, type Instant } from './events/time.js';
export { readEvtx } from './evtx/index.js';
export { mapRawWindowsEvent, mapWinlogbeatDocument } from './events/windows/index.js';
export { loadRules } from './rules/load.js';
export type { Rule, ExceptionList, ExceptionItem } from './rules/types.js';
export { generateEvents, writeGenerated } from './generate/index.js';
export { hunt, type HuntOptions, type HuntResult, type HuntStats } from './detect/hunt.js';
export { DetectionEngine, type DetectionEngineOptions, type AlertLedger, type AlertSink, type RuleStats } from './detect/engine.js';
export { prepareRule, RuleRouter, type PrepareOptions, type PreparedRule } from './detect/router.js';
export type { Alert } from './detect/alerts.js';
export { openAlertStore } from './store/sqlite.js';
