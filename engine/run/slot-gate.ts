/**
 * The scheduler's admission gate: a node runs when the pool has the job slots and the GPU devices
 * it asks for (`resources: { threads, gpus }`). A node of `threads: k` takes k slots; `gpus: g`
 * takes g devices from the list, which it gets to itself (CUDA_VISIBLE_DEVICES) until it ends.
 *
 * First come, first served: a wide node at the head of the queue is not overtaken by narrow ones
 * that arrived after it, so it never starves (make's jobserver has the same rule). The price is a
 * slot left idle while a wide node waits for the others to finish.
 */

export interface Demand {
  /** Job slots (1 ..= size). */
  slots: number;
  /** GPU devices (0 ..= devices.length). */
  gpus: number;
}

export interface Grant {
  devices: string[];
}

interface Waiter {
  demand: Demand;
  start: (g: Grant) => void;
}

export class SlotGate {
  private free: number;
  private readonly freeDevices: string[];
  private readonly queue: Waiter[] = [];
  /** Highest number of slots in use at once (for tests and the bench). */
  peakSlots = 0;

  constructor(
    readonly size: number,
    devices: readonly string[] = [],
  ) {
    this.free = size;
    this.freeDevices = [...devices];
  }

  /** Runs `fn` once the demand fits; slots and devices are given back when it settles. */
  async run<T>(demand: Demand, fn: (g: Grant) => Promise<T> | T): Promise<T> {
    const d: Demand = { slots: Math.max(1, Math.min(demand.slots, this.size)), gpus: Math.max(0, demand.gpus) };
    const grant = await new Promise<Grant>((start) => {
      this.queue.push({ demand: d, start });
      this.pump();
    });
    try {
      return await fn(grant);
    } finally {
      this.free += d.slots;
      this.freeDevices.push(...grant.devices);
      // Devices are handed out in their listed order, whatever order jobs return them in.
      this.freeDevices.sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
      this.pump();
    }
  }

  private pump(): void {
    while (this.queue.length) {
      const head = this.queue[0];
      if (head.demand.slots > this.free || head.demand.gpus > this.freeDevices.length) return;
      this.queue.shift();
      this.free -= head.demand.slots;
      this.peakSlots = Math.max(this.peakSlots, this.size - this.free);
      head.start({ devices: this.freeDevices.splice(0, head.demand.gpus) });
    }
  }
}
