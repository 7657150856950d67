/**
 * The process metrics Prometheus users expect of any target (the names the
 * official client libraries use), the Deno runtime's heap, event loop lag
 * and build information, read at scrape time.
 *
 * Memory and CPU come from the runtime, which needs no permission. Open and
 * maximum file descriptors come from Linux's `/proc/self`, which Deno lets
 * only a program with every permission read (`deno task start` and the
 * compiled binary grant `--allow-read`, which is not enough): elsewhere, or
 * without it, those two are left out, and the first refusal stops the tries.
 *
 * @module
 */
import process from "node:process";
import { GATEHOUSE_VERSION } from "../version.ts";
import { escapeLabel, formatValue, header } from "./metrics.ts";

/** Reads the file-descriptor counts from `/proc`, or gives up on them for good. */
class FileDescriptors {
  #readable = Deno.build.os === "linux";

  /** `[open, max]`, or undefined when `/proc` cannot be read. */
  read(): [number, number] | undefined {
    if (!this.#readable) return undefined;
    try {
      let open = 0;
      for (const _ of Deno.readDirSync("/proc/self/fd")) open++;
      const limits = Deno.readTextFileSync("/proc/self/limits");
      const max = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
      // Listing the folder opens one descriptor, which is closed again by now.
      return [open - 1, max === undefined || max === "unlimited" ? Infinity : Number(max)];
    } catch {
      this.#readable = false;
      return undefined;
    }
  }
}

/** How long a timer due now waits for the event loop, in seconds. */
function eventLoopLag(): Promise<number> {
  const start = performance.now();
  return new Promise((resolve) => setTimeout(() => resolve((performance.now() - start) / 1000), 0));
}

/** The lines of the process, runtime and build metrics, sampled now. */
export function processMetrics(): () => Promise<string[]> {
  const fds = new FileDescriptors();
  const build = `version="${escapeLabel(GATEHOUSE_VERSION)}",deno="${
    escapeLabel(Deno.version.deno)
  }"`;
  return async () => {
    const out: string[] = [];
    const gauge = (name: string, help: string, value: number) => {
      header(out, name, "gauge", help);
      out.push(`${name} ${formatValue(value)}`);
    };
    const { user, system } = process.cpuUsage();
    header(
      out,
      "process_cpu_seconds_total",
      "counter",
      "User and system CPU time spent, in seconds.",
    );
    out.push(`process_cpu_seconds_total ${formatValue((user + system) / 1e6)}`);
    const memory = Deno.memoryUsage();
    gauge("process_resident_memory_bytes", "Resident memory size, in bytes.", memory.rss);
    gauge(
      "process_start_time_seconds",
      "When the process started, in seconds since the Unix epoch.",
      performance.timeOrigin / 1000,
    );
    const open = fds.read();
    if (open) {
      gauge("process_open_fds", "Open file descriptors.", open[0]);
      gauge("process_max_fds", "Most file descriptors the process may open.", open[1]);
    }
    gauge("deno_heap_used_bytes", "V8 heap in use, in bytes.", memory.heapUsed);
    gauge("deno_heap_total_bytes", "V8 heap reserved, in bytes.", memory.heapTotal);
    gauge(
      "deno_external_memory_bytes",
      "Memory of objects outside the V8 heap (buffers), in bytes.",
      memory.external,
    );
    gauge(
      "gatehouse_event_loop_lag_seconds",
      "How long a timer due at scrape time waited for the event loop, in seconds.",
      await eventLoopLag(),
    );
    header(
      out,
      "gatehouse_build_info",
      "gauge",
      "The Gatehouse release and Deno runtime; always 1.",
    );
    out.push(`gatehouse_build_info{${build}} 1`);
    return out;
  };
}
