// Public API of the telemetry generator.
export { Generation, generateEvents, writeGenerated, routeIndex, indexFor } from './generator.js';
export type { GenerateOptions, GenerateResult, PlantedSummary, WriteOptions } from './generator.js';
export type { PlantedScenario, ScenarioKind } from './scenarios.js';
export type { Shape } from './model.js';
export { SHAPES } from './model.js';
export { splitWindowsCommandLine } from './winargs.js';
