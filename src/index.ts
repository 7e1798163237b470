// eqlite's library API. Parse and compile a query once, then run it over any iterable or async
// stream of events already ordered by time (see `mergeOrdered`/`sortEvents` to order them).
export { parse, parseExpression, collectFields, formatExpr, formatStatement, EqlError } from './eql/index.js';
export type * from './eql/ast.js';
export { compile, type CompileOptions } from './engine/index.js';
export {
  loadIndexMappings,
  parseIndexMappings,
  parseMapping,
  mergeMappings,
  applyMapping,
  mappingCompileOptions,
  type IndexMapping,
  type IndexMappings,
} from './engine/mapping.js';
export { joinKeyClasses, joinKeysJson, type KeyClass } from './engine/key-json.js';
export type { CompiledQuery, EngineOptions, QueryResult, QueryRun, EventResult, SequenceResult } from './engine/types.js';
export { getField, fieldAccessor } from './engine/fields.js';
export type { EventDoc, SourcePosition, SkippedItem } from './events/types.js';
export { readEvents, expandInputs, inferIndex } from './events/sources.js';
export { openInputs, type OpenOptions, type OpenedInput } from './events/inputs.js';
export { defaultThreads, WORKER_FILE_BYTES, WORKER_TOTAL_BYTES, openParallelInputs, type ParallelInput, type ParallelInputs, type ParallelOptions, type RouteSpec } from './parallel/pool.js';
export { mergeOrdered, sortEvents, OutOfOrderError } from './events/order.js';
export { readOrdered, type Attempt, type Consumer, type OrderedReport, type ReadOrderedOptions } from './events/ordered.js';
export { ExternalSorter, DEFAULT_SORT_MEMORY, type SortStats } from './events/external-sort.js';
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
export { selectRules, compileSelection, describeSelection, type RuleSelection, type Severity } from './rules/select.js';
export { loadRuleSet, rulesHome, currentRelease, type LoadedRuleSet, type RuleSetInfo, type InstalledRelease, type ReleaseManifest } from './rules/home.js';
export { installRules, removeInstalled, contentDigest, PINNED_RELEASE, InstallError, type InstallOptions, type InstallReport } from './rules/install.js';
export { runRuleTests, collectCases, type RuleTestOptions, type RuleTestRun, type CaseResult, type ActualAlert } from './ruletest/run.js';
export { readCaseFile, type TestCase, type Expectation } from './ruletest/cases.js';
export { junitXml, formatCase, formatSummary } from './ruletest/report.js';
export { explainRule, ExplainError, type ExplainOptions, type Explanation, type StageReport, type DeadEnd } from './explain/explain.js';
export { formatExplanation } from './explain/format.js';
export type { SequenceTrace } from './engine/sequence.js';
