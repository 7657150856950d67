/**
 * `deno task bench`: load figures for Gatehouse. Nothing is measured yet.
 *
 * @module
 */

console.log("no benchmarks yet (see the benchmarks issue)");
