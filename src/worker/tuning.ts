// How much one worker process takes on at once. Every knob is configuration (WORKER_* and
// SMTP_SEND_SLOTS); an unset one follows from SMTP_MAX_CONNECTIONS, because the SMTP connections
// are what a worker's throughput is made of and everything else scales with the sends in flight.

export interface TuningInput {
  /** SMTP_MAX_CONNECTIONS: pooled connections of the default account. */
  maxConnections: number;
  sendSlots?: number;
  workflowSlots?: number;
  activitySlots?: number;
  cachedWorkflows?: number;
}

export interface WorkerTuning {
  /** Send activities at once (the send task queue's slots): one in each connection and one getting ready. */
  sendSlots: number;
  /** Workflow tasks at once: each send finishing wakes its delivery workflow and then the campaign. */
  workflowSlots: number;
  /** Other activities at once on the main queue: ledger and status writes, Sent copies, builds, several per send. */
  activitySlots: number;
  /**
   * Workflows kept in memory between tasks (sticky cache). A campaign keeps up to 100 delivery
   * workflows open while they wait for a send slot; evicted ones are replayed from history on
   * their next task, which costs CPU but no correctness.
   */
  cachedWorkflows: number;
}

const defaultSendSlots = (maxConnections: number) => Math.max(2, 2 * maxConnections);

export function workerTuning(t: TuningInput): WorkerTuning {
  const sendSlots = t.sendSlots ?? defaultSendSlots(t.maxConnections);
  const cachedWorkflows = t.cachedWorkflows ?? Math.max(500, 50 * sendSlots);
  const workflowSlots = t.workflowSlots ?? Math.max(40, 4 * sendSlots);
  return {
    sendSlots,
    // The SDK allows no more workflow tasks at once than workflows cached (unless the cache is off).
    workflowSlots: cachedWorkflows > 0 ? Math.max(2, Math.min(workflowSlots, cachedWorkflows)) : workflowSlots,
    activitySlots: t.activitySlots ?? Math.max(50, 8 * sendSlots),
    cachedWorkflows,
  };
}
