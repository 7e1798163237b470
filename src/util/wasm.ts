// The WebAssembly API as eqlite uses it (the TypeScript lib this project builds with declares
// none): compiling a module, instantiating it, and its exported memory.

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export type WasmModule = object;

export const WA = (globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => WasmModule; Instance: new (m: WasmModule, imports: object) => { exports: unknown } };
}).WebAssembly;
