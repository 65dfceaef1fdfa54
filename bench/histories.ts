// What a run cost Temporal, read back from the histories it left: events, bytes and the billable
// actions of Temporal Cloud (https://docs.temporal.io/cloud/actions), counted per event as
//   WorkflowExecutionStarted (a client start, a continue-as-new run, a child)      1
//   StartChildWorkflowExecutionInitiated (the parent's intent; with the child's start: 2) 1
//   ActivityTaskScheduled, plus (attempt - 1) of its ActivityTaskStarted for retries  1
//   local-activity markers: all of one workflow task together                        1
//   TimerStarted                                                                     1
//   WorkflowExecutionSignaled (from a client or a workflow; the sender's
//     SignalExternalWorkflowExecutionInitiated is not counted again)                 1
//   WorkflowExecutionUpdateAccepted, WorkflowExecutionOptionsUpdated,
//     UpsertWorkflowSearchAttributes (unless it sets only TemporalChangeVersion,
//     which patched() writes and which is exempt)                                    1
// Not in any history, so not counted: activity heartbeats that reach the server, Queries, rejected
// Updates. Patch (version) markers are not billed.
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

const { temporal } = proto;

const E = temporal.api.enums.v1.EventType;
type History = proto.temporal.api.history.v1.IHistory;

export interface HistoryCost {
  workflows: number;
  events: number;
  actions: number;
  bytes: number;
  /** By event type: how many, their encoded bytes, and the bytes of the payloads in them (inputs, results, memo, search attributes, summaries). */
  byType: Record<string, { events: number; bytes: number; payloadBytes: number }>;
}

const zero = (): HistoryCost => ({ workflows: 0, events: 0, actions: 0, bytes: 0, byType: {} });

export function add(a: HistoryCost, b: HistoryCost): HistoryCost {
  const byType = { ...a.byType };
  for (const [type, t] of Object.entries(b.byType)) {
    const sum = byType[type] ?? { events: 0, bytes: 0, payloadBytes: 0 };
    byType[type] = { events: sum.events + t.events, bytes: sum.bytes + t.bytes, payloadBytes: sum.payloadBytes + t.payloadBytes };
  }
  return { workflows: a.workflows + b.workflows, events: a.events + b.events, actions: a.actions + b.actions, bytes: a.bytes + b.bytes, byType };
}

/** The encoded size of every payload (metadata and data) anywhere in an event. */
function payloadBytes(value: unknown): number {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return 0;
  if ('data' in value && 'metadata' in value && (value as { data: unknown }).data instanceof Uint8Array) {
    return temporal.api.common.v1.Payload.encode(value as proto.temporal.api.common.v1.IPayload).finish().byteLength;
  }
  let n = 0;
  for (const v of Object.values(value)) n += payloadBytes(v);
  return n;
}

function costOf(history: History): HistoryCost {
  let actions = 0;
  let markersThisTask = false;
  const byType: HistoryCost['byType'] = {};
  for (const e of history.events ?? []) {
    const type = (E[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
    const t = (byType[type] ??= { events: 0, bytes: 0, payloadBytes: 0 });
    t.events++;
    t.bytes += temporal.api.history.v1.HistoryEvent.encode(e).finish().byteLength;
    t.payloadBytes += payloadBytes(e);
    switch (e.eventType) {
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
      case E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
      case E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
      case E.EVENT_TYPE_TIMER_STARTED:
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
        actions++;
        break;
      case E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        // patched() upserts TemporalChangeVersion, which is exempt.
        const keys = Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
        if (keys.some((k) => k !== 'TemporalChangeVersion')) actions++;
        break;
      }
      case E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        actions += Math.max(0, (e.activityTaskStartedEventAttributes?.attempt ?? 1) - 1);
        break;
      case E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        markersThisTask = false;
        break;
      case E.EVENT_TYPE_MARKER_RECORDED:
        if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity' && !markersThisTask) {
          markersThisTask = true;
          actions++;
        }
        break;
    }
  }
  const bytes = temporal.api.history.v1.History.encode(history).finish().byteLength;
  return { workflows: 1, events: history.events?.length ?? 0, actions, bytes, byType };
}

/** Every run of a workflow that continued as new, walked back from the latest. */
export async function chainCost(client: Client, workflowId: string): Promise<HistoryCost> {
  let total = zero();
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    total = add(total, costOf(history));
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return total;
}

/** The latest run of each workflow, a few fetched at once. */
export async function workflowsCost(client: Client, workflowIds: string[], concurrency = 16): Promise<HistoryCost> {
  let total = zero();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < workflowIds.length) {
        const id = workflowIds[next++]!;
        const cost = costOf(await client.workflow.getHandle(id).fetchHistory());
        total = add(total, cost); // after the await: the other fetchers add meanwhile
      }
    }),
  );
  return total;
}
