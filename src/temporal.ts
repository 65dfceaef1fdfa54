import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export interface TemporalSettings {
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  TEMPORAL_API_KEY?: string;
}

function connectionOptions(s: TemporalSettings) {
  return { address: s.TEMPORAL_ADDRESS, ...(s.TEMPORAL_API_KEY ? { tls: true, apiKey: s.TEMPORAL_API_KEY } : {}) };
}

export async function connectClient(s: TemporalSettings): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(s));
  return new Client({ connection, namespace: s.TEMPORAL_NAMESPACE });
}

export async function connectWorker(s: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(s));
}
